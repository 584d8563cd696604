#include "common.h"

namespace torchts {
void InitModules(Napi::Env, Napi::Object) {}
}  // namespace torchts
