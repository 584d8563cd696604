#include "common.h"

namespace torchts {
void InitOptim(Napi::Env, Napi::Object) {}
}  // namespace torchts
