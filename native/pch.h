// Precompiled header for every translation unit of the addon.
//
// <torch/torch.h> alone costs ~22 s and 1.4 GB per translation unit on the
// reference 2-core machine; compiling it once into a PCH brings each source
// file down to a few seconds. Only stable third-party headers belong here.
#pragma once

#include <torch/torch.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/function_schema.h>
#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>
#include <c10/util/flat_hash_map.h>

#include <napi.h>

#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>
