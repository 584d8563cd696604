// Shared declarations of the torchts addon: error translation, handles,
// memory accounting and per-environment state.
//
// JavaScript never sees a raw pointer. Every native object (tensor, module,
// optimizer) reaches JS as a type-tagged `External` whose finalizer releases
// it, so a forgotten handle is still freed by the garbage collector, and an
// object of the wrong kind is rejected instead of being reinterpreted.
#pragma once

#include "pch.h"

namespace torchts {

// ---------------------------------------------------------------------------
// Errors. Every exported function is wrapped by Guard<>: no C++ exception may
// cross into V8 (an escaped exception aborts the Node process).
// ---------------------------------------------------------------------------

// A JS Error with a `code` property (e.g. ERR_TORCH, ERR_TORCHTS_ARG).
Napi::Error MakeError(Napi::Env env, const std::string& message, const char* code);
// A JS TypeError for bad arguments detected natively.
Napi::Error MakeTypeError(Napi::Env env, const std::string& message);
// A JS RangeError for an argument of the right type with a value out of range
// (same code, like lib/errors.ts' ArgumentRangeError).
Napi::Error MakeRangeError(Napi::Env env, const std::string& message);
// Translates libtorch's c10::Error family into the matching JS error.
Napi::Error TranslateTorchError(Napi::Env env, const c10::Error& error);

using Callback = Napi::Value (*)(const Napi::CallbackInfo&);

template <Callback F>
Napi::Value Guard(const Napi::CallbackInfo& info) {
  try {
    return F(info);
  } catch (const Napi::Error&) {
    throw;  // already a JS error; node-addon-api rethrows it into JS
  } catch (const c10::Error& error) {
    throw TranslateTorchError(info.Env(), error);
  } catch (const std::bad_alloc&) {
    throw MakeError(info.Env(), "out of memory (std::bad_alloc)", "ERR_TORCH_OOM");
  } catch (const std::exception& error) {
    throw MakeError(info.Env(), error.what(), "ERR_TORCHTS_NATIVE");
  } catch (...) {
    throw MakeError(info.Env(), "unknown native exception", "ERR_TORCHTS_NATIVE");
  }
}

// Registers `F` under `name` on `exports`, always behind Guard<>.
template <Callback F>
void Export(Napi::Env env, Napi::Object exports, const char* name) {
  exports.Set(name, Napi::Function::New<Guard<F>>(env, name));
}

// ---------------------------------------------------------------------------
// Argument helpers (throw JS TypeErrors with the argument's name).
// ---------------------------------------------------------------------------
int64_t ToInt(const Napi::Value& value, const char* what);
double ToDouble(const Napi::Value& value, const char* what);
bool ToBool(const Napi::Value& value, const char* what);
std::string ToString(const Napi::Value& value, const char* what);
std::vector<int64_t> ToIntVector(const Napi::Value& value, const char* what);
c10::ScalarType ToScalarType(const Napi::Value& value, const char* what);
c10::Device ToDevice(const Napi::Value& value, const char* what);
Napi::Value ShapeToJs(Napi::Env env, c10::IntArrayRef sizes);
std::string DeviceString(const c10::Device& device);

// ---------------------------------------------------------------------------
// Tensor handles.
//
// A JS tensor handle is a plain number: slot index (low 24 bits) plus the
// slot's generation (above). Numbers cost nothing to create, unlike N-API
// externals with finalizers (whose bookkeeping dominated small ops). A
// disposed or stale handle is detected by its generation, never
// dereferenced. The GC backstop lives in JS (lib/memory.ts): a
// FinalizationRegistry for tensors that escape every scope.
//
// The table also keeps the memory ledger: several handles (views, `.grad`
// lookups, parameters) can share one storage, so storages are counted once
// and memory() reports bytes actually held through JS handles, by device.
// ---------------------------------------------------------------------------
struct TensorSlot {
  at::Tensor tensor;            // undefined while the slot is free
  uint32_t generation = 1;
  const void* storageKey = nullptr;
};

struct MemoryLedger {
  struct Entry {
    int64_t handles = 0;
    int64_t bytes = 0;
    int device = -1;  // -1: CPU, else CUDA device index
    bool reportedToV8 = false;  // counted in V8's external memory
  };
  ska::flat_hash_map<const void*, Entry> storages;
  std::map<int, int64_t> bytesByDevice;
  int64_t liveTensors = 0;
  int64_t pendingExternalBytes = 0;  // CPU bytes not yet reported to V8
  // JS writes its scope() nesting depth here (lib/memory.ts), so tensors
  // created inside a scope, which the scope frees, are not reported to V8.
  Napi::Reference<Napi::Int32Array> scopeDepthCell;
  const int32_t* scopeDepth = nullptr;
};

struct TensorTable {
  std::deque<TensorSlot> slots;  // deque: references stay valid as it grows
  std::vector<uint32_t> freeSlots;
  MemoryLedger ledger;
};

// Wraps `tensor` in a new JS handle (undefined tensor -> null).
Napi::Value WrapTensor(Napi::Env env, at::Tensor tensor);
// The tensor behind a handle; throws a JS error for non-handles and disposed
// tensors. `what` names the argument in the message.
const at::Tensor& UnwrapTensor(const Napi::Value& value, const char* what);
// The live slot behind a handle, nullptr when disposed/stale; throws for
// values that are not tensor handles at all.
TensorSlot* FindTensorSlot(const Napi::Value& value, const char* what);
// Frees the handle's slot; false when it was already disposed.
bool ReleaseTensorHandle(const Napi::Value& value);
[[noreturn]] void ThrowDisposed(Napi::Env env, const std::string& what);

// Generic tagged externals for modules and optimizers.
template <typename T>
struct TypeTag;

template <typename T>
Napi::Value WrapObject(Napi::Env env, std::unique_ptr<T> object) {
  T* raw = object.release();
  auto external = Napi::External<T>::New(env, raw, [](Napi::Env, T* p) { delete p; });
  napi_status status = napi_type_tag_object(env, external, &TypeTag<T>::tag);
  if (status != napi_ok) throw MakeError(env, "cannot tag native handle", "ERR_TORCHTS_NATIVE");
  return external;
}

template <typename T>
T* UnwrapObject(const Napi::Value& value, const char* what) {
  bool tagged = false;
  if (value.IsExternal()) {
    napi_check_object_type_tag(value.Env(), value, &TypeTag<T>::tag, &tagged);
  }
  if (!tagged) {
    throw MakeTypeError(value.Env(), std::string(what) + " must be a " + TypeTag<T>::name + " handle");
  }
  return value.As<Napi::External<T>>().Data();
}

// ---------------------------------------------------------------------------
// Per-environment state (the addon is context-aware: each worker thread gets
// its own copy).
// ---------------------------------------------------------------------------
struct OpEntry;  // ops.cc
struct AddonData {
  TensorTable tensors;
  std::vector<std::unique_ptr<OpEntry>> ops;
  std::unordered_map<std::string, int32_t> opIds;
  std::vector<std::unique_ptr<c10::InferenceMode>> inferenceGuards;
  AddonData();  // defined in ops.cc, where OpEntry is complete
  ~AddonData();
};
AddonData& Data(Napi::Env env);

// Registration functions of each translation unit.
void InitTensor(Napi::Env env, Napi::Object exports);
void InitOps(Napi::Env env, Napi::Object exports);
void InitRuntime(Napi::Env env, Napi::Object exports);
// Once per process: the caching CPU allocator (see cpu_allocator.cc).
void InstallCpuAllocator();
struct CpuCacheStats {
  size_t liveBytes = 0;   // handed out and not yet freed
  size_t idleBytes = 0;   // freed, kept for reuse
  size_t idleLimit = 0;
  uint64_t hits = 0;      // requests served from idle blocks
  uint64_t misses = 0;    // requests that needed new memory
};
bool CpuAllocatorCaching();
const std::string& CpuAllocatorNote();
CpuCacheStats CpuAllocatorStats();
// Frees idle cached blocks and trims the C heap; nonzero if anything went back.
size_t ReleaseCpuMemory();
void InitModules(Napi::Env env, Napi::Object exports);
void InitOptim(Napi::Env env, Napi::Object exports);
void InitSerialize(Napi::Env env, Napi::Object exports);
void InitDistributed(Napi::Env env, Napi::Object exports);

}  // namespace torchts
