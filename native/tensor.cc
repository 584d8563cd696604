// Tensor handles: creation from JS memory, data out, properties, autograd
// entry points and the memory ledger.
#include "common.h"

namespace torchts {

namespace {

constexpr uint64_t kIndexBits = 24;
constexpr uint64_t kIndexMask = (uint64_t{1} << kIndexBits) - 1;
constexpr uint32_t kMaxGeneration = (uint32_t{1} << 28) - 1;  // handle < 2^52: exact in a double
// V8 learns about CPU tensor memory in chunks, not per tensor (each report
// is a call into the isolate).
constexpr int64_t kExternalReportChunk = 4 << 20;

int DeviceKey(const c10::Device& device) { return device.is_cpu() ? -1 : device.index(); }

std::string DeviceName(int key) { return key < 0 ? std::string("cpu") : "cuda:" + std::to_string(key); }

void ReportExternal(Napi::Env env, MemoryLedger& ledger, int64_t delta) {
  ledger.pendingExternalBytes += delta;
  if (ledger.pendingExternalBytes >= kExternalReportChunk || ledger.pendingExternalBytes <= -kExternalReportChunk) {
    Napi::MemoryManagement::AdjustExternalMemory(env, ledger.pendingExternalBytes);
    ledger.pendingExternalBytes = 0;
  }
}

// External memory tells V8 that small JS objects hold large native buffers,
// so that it collects undisposed tensors (the FinalizationRegistry backstop)
// before memory piles up. Only tensors the backstop is responsible for are
// reported: those created outside any scope(), and those that leave their
// scope (markExternal). Reporting every tensor made V8 start a full
// mark-compact each time a step's activations passed its external-memory
// limit: every ~150 ms in a ResNet block benchmark, with concurrent marking
// competing with libtorch's threads for the CPU (172 ms per block; 119 ms
// once only backstopped tensors were reported).
void ReportStorage(Napi::Env env, MemoryLedger& ledger, MemoryLedger::Entry& entry) {
  if (entry.reportedToV8 || entry.device >= 0) return;
  entry.reportedToV8 = true;
  ReportExternal(env, ledger, entry.bytes);
}

bool InsideScope(const MemoryLedger& ledger) { return ledger.scopeDepth != nullptr && *ledger.scopeDepth > 0; }

void LedgerAdd(Napi::Env env, MemoryLedger& ledger, TensorSlot& slot) {
  ledger.liveTensors += 1;
  const at::Tensor& tensor = slot.tensor;
  if (!tensor.has_storage()) return;
  const c10::Storage& storage = tensor.storage();
  const void* key = storage.unsafeGetStorageImpl();
  slot.storageKey = key;
  auto [it, inserted] = ledger.storages.emplace(key, MemoryLedger::Entry{});
  MemoryLedger::Entry& entry = it->second;
  entry.handles += 1;
  if (inserted) {
    entry.bytes = static_cast<int64_t>(storage.nbytes());
    entry.device = DeviceKey(storage.device());
    ledger.bytesByDevice[entry.device] += entry.bytes;
  }
  if (!InsideScope(ledger)) ReportStorage(env, ledger, entry);
}

void LedgerRemove(Napi::Env env, MemoryLedger& ledger, TensorSlot& slot) {
  ledger.liveTensors -= 1;
  if (slot.storageKey == nullptr) return;
  auto it = ledger.storages.find(slot.storageKey);
  slot.storageKey = nullptr;
  if (it == ledger.storages.end()) return;
  MemoryLedger::Entry& entry = it->second;
  if (--entry.handles > 0) return;
  ledger.bytesByDevice[entry.device] -= entry.bytes;
  if (entry.reportedToV8) ReportExternal(env, ledger, -entry.bytes);
  ledger.storages.erase(it);
}

// Decodes a handle; nullptr for numbers that are not live handles.
TensorSlot* Decode(TensorTable& table, int64_t handle) {
  if (handle <= 0) return nullptr;
  uint64_t bits = static_cast<uint64_t>(handle);
  uint64_t index = bits & kIndexMask;
  uint64_t generation = bits >> kIndexBits;
  if (index >= table.slots.size()) return nullptr;
  TensorSlot& slot = table.slots[index];
  if (slot.generation != generation || !slot.tensor.defined()) return nullptr;
  return &slot;
}

int64_t HandleValue(const Napi::Value& value, const char* what) {
  napi_valuetype type = napi_undefined;
  napi_typeof(value.Env(), value, &type);
  if (type != napi_number) throw MakeTypeError(value.Env(), std::string(what) + " must be a Tensor");
  int64_t handle = 0;
  napi_get_value_int64(value.Env(), value, &handle);
  return handle;
}

}  // namespace

[[noreturn]] void ThrowDisposed(Napi::Env env, const std::string& what) {
  throw MakeError(env, what + " is a disposed Tensor: it was freed by dispose() or by the scope() that created it",
                  "ERR_TORCHTS_DISPOSED");
}

Napi::Value WrapTensor(Napi::Env env, at::Tensor tensor) {
  if (!tensor.defined()) return env.Null();
  TensorTable& table = Data(env).tensors;
  uint32_t index;
  if (!table.freeSlots.empty()) {
    index = table.freeSlots.back();
    table.freeSlots.pop_back();
  } else {
    if (table.slots.size() > kIndexMask) throw MakeError(env, "too many live tensors (16M)", "ERR_TORCHTS_LIMIT");
    index = static_cast<uint32_t>(table.slots.size());
    table.slots.emplace_back();
  }
  TensorSlot& slot = table.slots[index];
  slot.tensor = std::move(tensor);
  LedgerAdd(env, table.ledger, slot);
  uint64_t handle = (static_cast<uint64_t>(slot.generation) << kIndexBits) | index;
  return Napi::Number::New(env, static_cast<double>(handle));
}

TensorSlot* FindTensorSlot(const Napi::Value& value, const char* what) {
  return Decode(Data(value.Env()).tensors, HandleValue(value, what));
}

const at::Tensor& UnwrapTensor(const Napi::Value& value, const char* what) {
  TensorSlot* slot = FindTensorSlot(value, what);
  if (slot == nullptr) ThrowDisposed(value.Env(), what);
  return slot->tensor;
}

bool ReleaseTensorHandle(const Napi::Value& value) {
  Napi::Env env = value.Env();
  TensorTable& table = Data(env).tensors;
  TensorSlot* slot = Decode(table, HandleValue(value, "tensor"));
  if (slot == nullptr) return false;
  LedgerRemove(env, table.ledger, *slot);
  slot->tensor.reset();
  slot->generation = slot->generation >= kMaxGeneration ? 1 : slot->generation + 1;
  table.freeSlots.push_back(static_cast<uint32_t>(static_cast<uint64_t>(HandleValue(value, "tensor")) & kIndexMask));
  return true;
}

namespace {

// fromBytes(view: ArrayBufferView | ArrayBuffer, shape: number[], dtype: code)
// Copies: JS may detach, transfer or reuse the buffer while libtorch holds it.
Napi::Value FromBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint8_t* data = nullptr;
  size_t byteLength = 0;
  if (info[0].IsTypedArray()) {
    Napi::TypedArray view = info[0].As<Napi::TypedArray>();
    data = static_cast<const uint8_t*>(view.ArrayBuffer().Data()) + view.ByteOffset();
    byteLength = view.ByteLength();
  } else if (info[0].IsDataView()) {
    Napi::DataView view = info[0].As<Napi::DataView>();
    data = static_cast<const uint8_t*>(view.ArrayBuffer().Data()) + view.ByteOffset();
    byteLength = view.ByteLength();
  } else if (info[0].IsArrayBuffer()) {
    Napi::ArrayBuffer buffer = info[0].As<Napi::ArrayBuffer>();
    data = static_cast<const uint8_t*>(buffer.Data());
    byteLength = buffer.ByteLength();
  } else {
    throw MakeTypeError(env, "data must be a TypedArray, Buffer, DataView or ArrayBuffer");
  }
  std::vector<int64_t> shape = ToIntVector(info[1], "shape");
  c10::ScalarType dtype = ToScalarType(info[2], "dtype");
  int64_t numel = 1;
  for (int64_t size : shape) {
    if (size < 0) throw MakeTypeError(env, "shape must not contain negative sizes");
    numel *= size;
  }
  // Bool tensors are filled from bytes and normalised (any non-zero is true).
  c10::ScalarType storageType = dtype == c10::ScalarType::Bool ? c10::ScalarType::Byte : dtype;
  size_t expected = static_cast<size_t>(numel) * c10::elementSize(storageType);
  if (byteLength != expected) {
    throw MakeTypeError(env, "data holds " + std::to_string(byteLength) + " bytes but shape " +
                                 c10::str(c10::IntArrayRef(shape)) + " of " + c10::toString(dtype) + " needs " +
                                 std::to_string(expected));
  }
  at::Tensor tensor = at::empty(shape, at::TensorOptions().dtype(storageType));
  if (expected > 0) std::memcpy(tensor.data_ptr(), data, expected);
  if (dtype == c10::ScalarType::Bool) tensor = tensor.ne(0);
  return WrapTensor(env, std::move(tensor));
}

// A host copy of the tensor's elements in row-major order, as an ArrayBuffer.
Napi::Value ToArrayBuffer(const Napi::CallbackInfo& info) {
  at::Tensor tensor = UnwrapTensor(info[0], "tensor").detach();
  if (!tensor.device().is_cpu()) tensor = tensor.to(at::kCPU);
  tensor = tensor.resolve_conj().resolve_neg().contiguous();
  size_t bytes = static_cast<size_t>(tensor.numel()) * tensor.element_size();
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(info.Env(), bytes);
  if (bytes > 0) std::memcpy(buffer.Data(), tensor.const_data_ptr(), bytes);
  return buffer;
}

Napi::Value Item(const Napi::CallbackInfo& info) {
  const at::Tensor& tensor = UnwrapTensor(info[0], "tensor");
  c10::Scalar value = tensor.item();
  if (value.isBoolean()) return Napi::Boolean::New(info.Env(), value.toBool());
  if (value.isIntegral(false)) return Napi::Number::New(info.Env(), static_cast<double>(value.toLong()));
  return Napi::Number::New(info.Env(), value.toDouble());
}

Napi::Value Shape(const Napi::CallbackInfo& info) {
  return ShapeToJs(info.Env(), UnwrapTensor(info[0], "tensor").sizes());
}

Napi::Value Strides(const Napi::CallbackInfo& info) {
  return ShapeToJs(info.Env(), UnwrapTensor(info[0], "tensor").strides());
}

Napi::Value Dim(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(UnwrapTensor(info[0], "tensor").dim()));
}

Napi::Value Numel(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(UnwrapTensor(info[0], "tensor").numel()));
}

Napi::Value DType(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<int>(UnwrapTensor(info[0], "tensor").scalar_type()));
}

Napi::Value DeviceOf(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), DeviceString(UnwrapTensor(info[0], "tensor").device()));
}

Napi::Value IsContiguous(const Napi::CallbackInfo& info) {
  const at::Tensor& tensor = UnwrapTensor(info[0], "tensor");
  auto format = info[1].IsUndefined() ? at::MemoryFormat::Contiguous
                                      : static_cast<at::MemoryFormat>(ToInt(info[1], "memoryFormat"));
  return Napi::Boolean::New(info.Env(), tensor.is_contiguous(format));
}

Napi::Value RequiresGrad(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), UnwrapTensor(info[0], "tensor").requires_grad());
}

Napi::Value SetRequiresGrad(const Napi::CallbackInfo& info) {
  at::Tensor tensor = UnwrapTensor(info[0], "tensor");
  tensor.set_requires_grad(ToBool(info[1], "requiresGrad"));
  return info.Env().Undefined();
}

Napi::Value IsLeaf(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), UnwrapTensor(info[0], "tensor").is_leaf());
}

Napi::Value GradFnName(const Napi::CallbackInfo& info) {
  const at::Tensor& tensor = UnwrapTensor(info[0], "tensor");
  const auto& gradFn = tensor.grad_fn();
  if (!gradFn) return info.Env().Null();
  return Napi::String::New(info.Env(), gradFn->name());
}

Napi::Value Grad(const Napi::CallbackInfo& info) {
  return WrapTensor(info.Env(), UnwrapTensor(info[0], "tensor").grad());
}

// gradIs(tensor, candidate): whether candidate is a handle on tensor's current
// .grad (same TensorImpl), so JS can hand out one cached .grad handle.
Napi::Value GradIs(const Napi::CallbackInfo& info) {
  const at::Tensor& grad = UnwrapTensor(info[0], "tensor").grad();
  const at::Tensor candidate = UnwrapTensor(info[1], "candidate");
  return Napi::Boolean::New(info.Env(), grad.defined() && grad.unsafeGetTensorImpl() == candidate.unsafeGetTensorImpl());
}

Napi::Value SetGrad(const Napi::CallbackInfo& info) {
  at::Tensor tensor = UnwrapTensor(info[0], "tensor");
  if (info[1].IsNull() || info[1].IsUndefined()) {
    tensor.mutable_grad().reset();
  } else {
    tensor.mutable_grad() = UnwrapTensor(info[1], "grad");
  }
  return info.Env().Undefined();
}

// setData(tensor, source): swaps the tensor's data in place (same object, so
// every handle, module and optimizer that refers to it sees the new data), as
// PyTorch's `param.data = ...` and Module.to() do.
Napi::Value SetData(const Napi::CallbackInfo& info) {
  at::Tensor tensor = UnwrapTensor(info[0], "tensor");
  const at::Tensor& source = UnwrapTensor(info[1], "source");
  tensor.set_data(source);
  return info.Env().Undefined();
}

Napi::Value RetainGrad(const Napi::CallbackInfo& info) {
  UnwrapTensor(info[0], "tensor").retain_grad();
  return info.Env().Undefined();
}

// backward(tensors[], grads[] (entries may be null), retainGraph, createGraph)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  Napi::Array roots = info[0].As<Napi::Array>();
  std::vector<at::Tensor> tensors;
  std::vector<at::Tensor> grads;
  bool anyGrad = false;
  for (uint32_t i = 0; i < roots.Length(); ++i) tensors.push_back(UnwrapTensor(roots.Get(i), "tensor"));
  if (info[1].IsArray()) {
    Napi::Array gradArray = info[1].As<Napi::Array>();
    for (uint32_t i = 0; i < gradArray.Length(); ++i) {
      Napi::Value grad = gradArray.Get(i);
      if (grad.IsNull() || grad.IsUndefined()) {
        grads.emplace_back();
      } else {
        grads.push_back(UnwrapTensor(grad, "gradient"));
        anyGrad = true;
      }
    }
  }
  std::optional<bool> retainGraph;
  if (info[2].IsBoolean()) retainGraph = info[2].As<Napi::Boolean>().Value();
  bool createGraph = info[3].IsBoolean() && info[3].As<Napi::Boolean>().Value();
  torch::autograd::backward(tensors, anyGrad ? grads : std::vector<at::Tensor>{}, retainGraph, createGraph);
  return info.Env().Undefined();
}

// dispose(handle) -> whether it was live. Stale handles are a no-op: the GC
// backstop may run after an explicit dispose.
Napi::Value Dispose(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), ReleaseTensorHandle(info[0]));
}

// markExternal(handle): this tensor now depends on the GC backstop (it was
// kept, or returned out of the outermost scope); report its memory to V8.
Napi::Value MarkExternal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TensorTable& table = Data(env).tensors;
  TensorSlot* slot = Decode(table, HandleValue(info[0], "tensor"));
  if (slot == nullptr || slot->storageKey == nullptr) return env.Undefined();
  auto it = table.ledger.storages.find(slot->storageKey);
  if (it != table.ledger.storages.end()) ReportStorage(env, table.ledger, it->second);
  return env.Undefined();
}

// setScopeDepthCell(cell: Int32Array): the cell JS updates on scope entry/exit.
Napi::Value SetScopeDepthCell(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw MakeTypeError(env, "scope depth cell must be an Int32Array");
  }
  Napi::Int32Array cell = info[0].As<Napi::Int32Array>();
  if (cell.ElementLength() < 1) throw MakeTypeError(env, "scope depth cell must have one element");
  MemoryLedger& ledger = Data(env).tensors.ledger;
  ledger.scopeDepthCell = Napi::Persistent(cell);
  ledger.scopeDepth = cell.Data();
  return env.Undefined();
}

Napi::Value IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), FindTensorSlot(info[0], "tensor") == nullptr);
}

// True when both handles refer to the same TensorImpl (same tensor object,
// not merely equal values or shared storage).
Napi::Value SameTensor(const Napi::CallbackInfo& info) {
  const at::Tensor& a = UnwrapTensor(info[0], "a");
  const at::Tensor& b = UnwrapTensor(info[1], "b");
  return Napi::Boolean::New(info.Env(), a.unsafeGetTensorImpl() == b.unsafeGetTensorImpl());
}

Napi::Value Memory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const MemoryLedger& ledger = Data(env).tensors.ledger;
  Napi::Object result = Napi::Object::New(env);
  result.Set("liveTensors", Napi::Number::New(env, static_cast<double>(ledger.liveTensors)));
  result.Set("storages", Napi::Number::New(env, static_cast<double>(ledger.storages.size())));
  Napi::Object bytes = Napi::Object::New(env);
  for (const auto& [device, count] : ledger.bytesByDevice) {
    if (count != 0) bytes.Set(DeviceName(device), Napi::Number::New(env, static_cast<double>(count)));
  }
  result.Set("bytes", bytes);
  return result;
}

}  // namespace

void InitTensor(Napi::Env env, Napi::Object exports) {
  Export<FromBytes>(env, exports, "fromBytes");
  Export<ToArrayBuffer>(env, exports, "toArrayBuffer");
  Export<Item>(env, exports, "item");
  Export<Shape>(env, exports, "shape");
  Export<Strides>(env, exports, "strides");
  Export<Dim>(env, exports, "dim");
  Export<Numel>(env, exports, "numel");
  Export<DType>(env, exports, "dtype");
  Export<DeviceOf>(env, exports, "device");
  Export<IsContiguous>(env, exports, "isContiguous");
  Export<RequiresGrad>(env, exports, "requiresGrad");
  Export<SetRequiresGrad>(env, exports, "setRequiresGrad");
  Export<IsLeaf>(env, exports, "isLeaf");
  Export<GradFnName>(env, exports, "gradFn");
  Export<Grad>(env, exports, "grad");
  Export<GradIs>(env, exports, "gradIs");
  Export<SetGrad>(env, exports, "setGrad");
  Export<RetainGrad>(env, exports, "retainGrad");
  Export<SetData>(env, exports, "setData");
  Export<Backward>(env, exports, "backward");
  Export<Dispose>(env, exports, "dispose");
  Export<MarkExternal>(env, exports, "markExternal");
  Export<SetScopeDepthCell>(env, exports, "setScopeDepthCell");
  Export<IsDisposed>(env, exports, "isDisposed");
  Export<SameTensor>(env, exports, "sameTensor");
  Export<Memory>(env, exports, "memory");
}

}  // namespace torchts
