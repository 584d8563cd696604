#include "common.h"

namespace torchts {
void InitSerialize(Napi::Env, Napi::Object) {}
}  // namespace torchts
