// Tensor handles: creation from JS memory, data out, properties, autograd
// entry points and the memory ledger.
#include "common.h"

namespace torchts {

template <>
struct TypeTag<TensorBox> {
  static constexpr napi_type_tag tag = {0x7f3a1c2e5b6d4e01ULL, 0x9a8b7c6d5e4f3a21ULL};
  static constexpr const char* name = "Tensor";
};

namespace {

void LedgerAdd(TensorBox* box, Napi::Env env) {
  const at::Tensor& tensor = box->tensor;
  MemoryLedger& ledger = *box->ledger;
  ledger.liveTensors += 1;
  if (!tensor.defined() || !tensor.has_storage()) return;
  const c10::Storage& storage = tensor.storage();
  const void* key = storage.unsafeGetStorageImpl();
  box->storageKey = key;
  auto [it, inserted] = ledger.storages.try_emplace(key);
  MemoryLedger::Entry& entry = it->second;
  entry.handles += 1;
  if (inserted) {
    entry.bytes = static_cast<int64_t>(storage.nbytes());
    entry.device = DeviceString(storage.device());
    ledger.bytesByDevice[entry.device] += entry.bytes;
    if (storage.device().is_cpu() && entry.bytes > 0) {
      Napi::MemoryManagement::AdjustExternalMemory(env, entry.bytes);
    }
  }
}

void LedgerRemove(TensorBox* box) {
  MemoryLedger& ledger = *box->ledger;
  ledger.liveTensors -= 1;
  if (box->storageKey == nullptr) return;
  auto it = ledger.storages.find(box->storageKey);
  box->storageKey = nullptr;
  if (it == ledger.storages.end()) return;
  MemoryLedger::Entry& entry = it->second;
  if (--entry.handles > 0) return;
  ledger.bytesByDevice[entry.device] -= entry.bytes;
  if (entry.device == "cpu" && entry.bytes > 0 && box->env != nullptr) {
    napi_adjust_external_memory(box->env, -entry.bytes, nullptr);
  }
  ledger.storages.erase(it);
}

}  // namespace

void ReleaseTensorBox(TensorBox* box) {
  if (box->disposed) return;
  box->disposed = true;
  LedgerRemove(box);
  box->tensor.reset();
}

Napi::Value WrapTensor(Napi::Env env, at::Tensor tensor) {
  if (!tensor.defined()) return env.Null();
  auto box = std::make_unique<TensorBox>();
  box->tensor = std::move(tensor);
  box->ledger = Data(env).ledger;
  box->env = env;
  LedgerAdd(box.get(), env);
  TensorBox* raw = box.release();
  auto external = Napi::External<TensorBox>::New(env, raw, [](Napi::Env, TensorBox* p) {
    ReleaseTensorBox(p);
    delete p;
  });
  napi_type_tag_object(env, external, &TypeTag<TensorBox>::tag);
  return external;
}

TensorBox* UnwrapTensorBox(const Napi::Value& value, const char* what) {
  bool tagged = false;
  if (value.IsExternal()) {
    napi_check_object_type_tag(value.Env(), value, &TypeTag<TensorBox>::tag, &tagged);
  }
  if (!tagged) throw MakeTypeError(value.Env(), std::string(what) + " must be a Tensor");
  return value.As<Napi::External<TensorBox>>().Data();
}

const at::Tensor& UnwrapTensor(const Napi::Value& value, const char* what) {
  TensorBox* box = UnwrapTensorBox(value, what);
  if (box->disposed) {
    throw MakeError(value.Env(), std::string(what) + " is a disposed Tensor: it was freed by dispose() or by the scope() that created it",
                    "ERR_TORCHTS_DISPOSED");
  }
  return box->tensor;
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

Napi::Value SetGrad(const Napi::CallbackInfo& info) {
  at::Tensor tensor = UnwrapTensor(info[0], "tensor");
  if (info[1].IsNull() || info[1].IsUndefined()) {
    tensor.mutable_grad().reset();
  } else {
    tensor.mutable_grad() = UnwrapTensor(info[1], "grad");
  }
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

Napi::Value Dispose(const Napi::CallbackInfo& info) {
  ReleaseTensorBox(UnwrapTensorBox(info[0], "tensor"));
  return info.Env().Undefined();
}

Napi::Value IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), UnwrapTensorBox(info[0], "tensor")->disposed);
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
  const MemoryLedger& ledger = *Data(env).ledger;
  Napi::Object result = Napi::Object::New(env);
  result.Set("liveTensors", Napi::Number::New(env, static_cast<double>(ledger.liveTensors)));
  result.Set("storages", Napi::Number::New(env, static_cast<double>(ledger.storages.size())));
  Napi::Object bytes = Napi::Object::New(env);
  for (const auto& [device, count] : ledger.bytesByDevice) {
    if (count != 0) bytes.Set(device, Napi::Number::New(env, static_cast<double>(count)));
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
  Export<SetGrad>(env, exports, "setGrad");
  Export<RetainGrad>(env, exports, "retainGrad");
  Export<Backward>(env, exports, "backward");
  Export<Dispose>(env, exports, "dispose");
  Export<IsDisposed>(env, exports, "isDisposed");
  Export<SameTensor>(env, exports, "sameTensor");
  Export<Memory>(env, exports, "memory");
}

}  // namespace torchts
