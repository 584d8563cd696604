// The one generic op path: any ATen operator, called by schema name through
// libtorch's dispatcher with boxed arguments. Autograd, autocast and device
// dispatch all happen inside the dispatcher, exactly as for Python.
//
// JS resolves an operator once (resolveOp -> small integer id) and then calls
// it with positional arguments in schema order; `undefined` means "use the
// schema's default". Arguments are converted by a kind precomputed from the
// schema, so a call is a switch per argument plus Dispatcher::callBoxed.
#include "common.h"
#include <algorithm>

namespace torchts {

namespace {

enum class Kind : uint8_t {
  Tensor,
  TensorList,
  OptionalTensorList,
  Int,
  IntList,
  Float,
  FloatList,
  Bool,
  BoolList,
  Scalar,
  ScalarType,
  Layout,
  Device,
  MemoryFormat,
  Generator,
  String,
};

struct ArgSpec {
  Kind kind;
  bool optional;
  std::string name;
  std::optional<c10::IValue> defaultValue;
  int64_t fixedSize;  // int[2] accepts a single int, repeated (as in Python)
};

}  // namespace

struct OpEntry {
  explicit OpEntry(c10::OperatorHandle h) : handle(std::move(h)) {}
  c10::OperatorHandle handle;
  std::string label;  // "aten::add.Tensor", for messages
  std::vector<ArgSpec> args;
  std::vector<bool> returnIsWriteAlias;
  std::vector<std::string> returnKinds;  // "tensor", "tensors" or "value", for generic callers
};

AddonData::AddonData() = default;
AddonData::~AddonData() = default;

namespace {

std::optional<Kind> Classify(c10::TypePtr type, bool* optional, int64_t* fixedSize) {
  using c10::TypeKind;
  *optional = false;
  *fixedSize = 0;
  if (auto inner = type->cast<c10::OptionalType>()) {
    *optional = true;
    type = inner->getElementType();
  }
  switch (type->kind()) {
    case TypeKind::TensorType: return Kind::Tensor;
    case TypeKind::IntType:
    case TypeKind::SymIntType: return Kind::Int;
    case TypeKind::FloatType:
    case TypeKind::SymFloatType: return Kind::Float;
    case TypeKind::BoolType:
    case TypeKind::SymBoolType: return Kind::Bool;
    case TypeKind::NumberType: return Kind::Scalar;
    case TypeKind::ScalarTypeType: return Kind::ScalarType;
    case TypeKind::LayoutType: return Kind::Layout;
    case TypeKind::DeviceObjType: return Kind::Device;
    case TypeKind::MemoryFormatType: return Kind::MemoryFormat;
    case TypeKind::GeneratorType: return Kind::Generator;
    case TypeKind::StringType: return Kind::String;
    case TypeKind::ListType: {
      c10::TypePtr element = type->castRaw<c10::ListType>()->getElementType();
      if (auto innerElement = element->cast<c10::OptionalType>()) {
        if (innerElement->getElementType()->kind() == TypeKind::TensorType) return Kind::OptionalTensorList;
        return std::nullopt;
      }
      switch (element->kind()) {
        case TypeKind::TensorType: return Kind::TensorList;
        case TypeKind::IntType:
        case TypeKind::SymIntType: return Kind::IntList;
        case TypeKind::FloatType: return Kind::FloatList;
        case TypeKind::BoolType: return Kind::BoolList;
        default: return std::nullopt;
      }
    }
    default: return std::nullopt;
  }
}

// For a name with no such overload: the overloads that do exist, so that
// 'aten::add' (which has only named overloads) says to write 'aten::add.Tensor'.
std::string UnknownOpMessage(const std::string& name, const std::string& overload) {
  std::vector<std::string> overloads;
  for (const c10::OperatorName& known : c10::Dispatcher::singleton().getAllOpNames()) {
    if (known.name == name) overloads.push_back(known.overload_name.empty() ? "(none)" : known.overload_name);
  }
  const std::string label = overload.empty() ? name : name + "." + overload;
  if (overloads.empty()) return "unknown operator " + label + " (names look like 'aten::add' with overload 'Tensor')";
  std::sort(overloads.begin(), overloads.end());
  std::string list;
  for (const std::string& each : overloads) list += (list.empty() ? "" : ", ") + each;
  const std::string example = overloads.front() == "(none)" ? name : name + "." + overloads.front();
  return name + " has no overload " + (overload.empty() ? std::string("without a name") : "'" + overload + "'") +
         "; its overloads are: " + list + " (call e.g. '" + example + "')";
}

// resolveOp(name: "aten::add", overload: "Tensor" | "") -> id
Napi::Value ResolveOp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = ToString(info[0], "op name");
  std::string overload = info[1].IsUndefined() ? std::string() : ToString(info[1], "overload");
  std::string label = overload.empty() ? name : name + "." + overload;
  AddonData& data = Data(env);
  auto known = data.opIds.find(label);
  if (known != data.opIds.end()) return Napi::Number::New(env, known->second);

  auto handle = c10::Dispatcher::singleton().findSchema({name, overload});
  if (!handle.has_value()) throw MakeError(env, UnknownOpMessage(name, overload), "ERR_TORCHTS_UNKNOWN_OP");
  auto entry = std::make_unique<OpEntry>(*handle);
  entry->label = label;
  const c10::FunctionSchema& schema = handle->schema();
  for (const c10::Argument& argument : schema.arguments()) {
    bool optional = false;
    int64_t fixedSize = 0;
    std::optional<Kind> kind = Classify(argument.real_type(), &optional, &fixedSize);
    if (!kind) {
      throw MakeError(env, label + ": argument '" + argument.name() + "' has type " + argument.real_type()->str() +
                               ", which torchts cannot pass",
                      "ERR_TORCHTS_UNSUPPORTED_OP");
    }
    fixedSize = argument.N().value_or(0);
    entry->args.push_back(ArgSpec{*kind, optional, argument.name(), argument.default_value(), fixedSize});
  }
  for (const c10::Argument& ret : schema.returns()) {
    entry->returnIsWriteAlias.push_back(ret.alias_info() != nullptr && ret.alias_info()->isWrite());
    c10::TypePtr type = ret.real_type();
    if (auto inner = type->cast<c10::OptionalType>()) type = inner->getElementType();
    std::string kind = "value";
    if (type->kind() == c10::TypeKind::TensorType) kind = "tensor";
    if (type->kind() == c10::TypeKind::ListType &&
        type->castRaw<c10::ListType>()->getElementType()->kind() == c10::TypeKind::TensorType) {
      kind = "tensors";
    }
    entry->returnKinds.push_back(kind);
  }
  int32_t id = static_cast<int32_t>(data.ops.size());
  data.ops.push_back(std::move(entry));
  data.opIds.emplace(label, id);
  return Napi::Number::New(env, id);
}

const OpEntry& EntryArg(const Napi::Value& value) {
  AddonData& data = Data(value.Env());
  int64_t id = ToInt(value, "op id");
  if (id < 0 || id >= static_cast<int64_t>(data.ops.size())) throw MakeTypeError(value.Env(), "unknown op id");
  return *data.ops[id];
}

Napi::Value OpSchema(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), c10::toString(EntryArg(info[0]).handle.schema()));
}

// What each return value is: "tensor" (a handle or null), "tensors" (an
// array of handles) or "value" (numbers, booleans, strings).
Napi::Value OpReturns(const Napi::CallbackInfo& info) {
  const OpEntry& op = EntryArg(info[0]);
  Napi::Array kinds = Napi::Array::New(info.Env(), op.returnKinds.size());
  for (size_t i = 0; i < op.returnKinds.size(); ++i) kinds.Set(i, Napi::String::New(info.Env(), op.returnKinds[i]));
  return kinds;
}

[[noreturn]] void ArgError(Napi::Env env, const OpEntry& op, const ArgSpec& spec, const std::string& problem) {
  throw MakeTypeError(env, op.label + ": argument '" + spec.name + "' " + problem);
}

int64_t IntArg(Napi::Env env, const OpEntry& op, const ArgSpec& spec, const Napi::Value& value) {
  if (value.IsNumber()) {
    double number = value.As<Napi::Number>().DoubleValue();
    if (std::isfinite(number) && std::floor(number) == number) return static_cast<int64_t>(number);
    ArgError(env, op, spec, "must be an integer, got " + value.ToString().Utf8Value());
  }
  if (value.IsBigInt()) {
    bool lossless = false;
    return value.As<Napi::BigInt>().Int64Value(&lossless);
  }
  if (value.IsBoolean()) return value.As<Napi::Boolean>().Value() ? 1 : 0;
  ArgError(env, op, spec, "must be an integer");
}

double FloatArg(Napi::Env env, const OpEntry& op, const ArgSpec& spec, const Napi::Value& value) {
  if (value.IsNumber()) return value.As<Napi::Number>().DoubleValue();
  if (value.IsBigInt()) {
    bool lossless = false;
    return static_cast<double>(value.As<Napi::BigInt>().Int64Value(&lossless));
  }
  ArgError(env, op, spec, "must be a number");
}

const at::Tensor& TensorArg(Napi::Env env, const OpEntry& op, const ArgSpec& spec, const Napi::Value& value) {
  if (!value.IsNumber()) ArgError(env, op, spec, "must be a Tensor");
  TensorSlot* slot = FindTensorSlot(value, spec.name.c_str());
  if (slot == nullptr) ThrowDisposed(env, op.label + ": argument '" + spec.name + "'");
  return slot->tensor;
}

Napi::Array ArrayArg(Napi::Env env, const OpEntry& op, const ArgSpec& spec, const Napi::Value& value) {
  if (!value.IsArray()) ArgError(env, op, spec, "must be an array");
  return value.As<Napi::Array>();
}

c10::IValue Convert(Napi::Env env, const OpEntry& op, const ArgSpec& spec, const Napi::Value& value) {
  if (value.IsUndefined()) {
    if (spec.defaultValue.has_value()) return *spec.defaultValue;
    if (spec.optional) return c10::IValue();
    ArgError(env, op, spec, "is required");
  }
  if (value.IsNull()) {
    if (spec.optional) return c10::IValue();
    ArgError(env, op, spec, "must not be null");
  }
  switch (spec.kind) {
    case Kind::Tensor: return TensorArg(env, op, spec, value);
    case Kind::TensorList: {
      Napi::Array array = ArrayArg(env, op, spec, value);
      c10::List<at::Tensor> list;
      list.reserve(array.Length());
      for (uint32_t i = 0; i < array.Length(); ++i) list.push_back(TensorArg(env, op, spec, array.Get(i)));
      return list;
    }
    case Kind::OptionalTensorList: {
      Napi::Array array = ArrayArg(env, op, spec, value);
      c10::List<std::optional<at::Tensor>> list;
      list.reserve(array.Length());
      for (uint32_t i = 0; i < array.Length(); ++i) {
        Napi::Value item = array.Get(i);
        if (item.IsNull() || item.IsUndefined()) {
          list.push_back(std::nullopt);
        } else {
          list.push_back(TensorArg(env, op, spec, item));
        }
      }
      return list;
    }
    case Kind::Int: return IntArg(env, op, spec, value);
    case Kind::IntList: {
      if (!value.IsArray() && spec.fixedSize > 0) {
        return std::vector<int64_t>(static_cast<size_t>(spec.fixedSize), IntArg(env, op, spec, value));
      }
      Napi::Array array = ArrayArg(env, op, spec, value);
      std::vector<int64_t> list(array.Length());
      for (uint32_t i = 0; i < array.Length(); ++i) list[i] = IntArg(env, op, spec, array.Get(i));
      return list;
    }
    case Kind::Float: return FloatArg(env, op, spec, value);
    case Kind::FloatList: {
      if (!value.IsArray() && spec.fixedSize > 0) {
        return std::vector<double>(static_cast<size_t>(spec.fixedSize), FloatArg(env, op, spec, value));
      }
      Napi::Array array = ArrayArg(env, op, spec, value);
      std::vector<double> list(array.Length());
      for (uint32_t i = 0; i < array.Length(); ++i) list[i] = FloatArg(env, op, spec, array.Get(i));
      return list;
    }
    case Kind::Bool:
      if (!value.IsBoolean()) ArgError(env, op, spec, "must be a boolean");
      return value.As<Napi::Boolean>().Value();
    case Kind::BoolList: {
      Napi::Array array = ArrayArg(env, op, spec, value);
      c10::List<bool> list;
      for (uint32_t i = 0; i < array.Length(); ++i) {
        Napi::Value item = array.Get(i);
        if (!item.IsBoolean()) ArgError(env, op, spec, "must be an array of booleans");
        list.push_back(item.As<Napi::Boolean>().Value());
      }
      return list;
    }
    case Kind::Scalar:
      // JS has one number type: integral values become int scalars (Python's
      // `x + 2`), others float scalars (`x + 2.5`), so type promotion of
      // integer tensors matches Python for the literal a user would write.
      if (value.IsNumber()) {
        double number = value.As<Napi::Number>().DoubleValue();
        if (std::isfinite(number) && std::floor(number) == number && std::fabs(number) < 9007199254740992.0) {
          return static_cast<int64_t>(number);
        }
        return number;
      }
      if (value.IsBoolean()) return value.As<Napi::Boolean>().Value();
      if (value.IsBigInt()) return IntArg(env, op, spec, value);
      ArgError(env, op, spec, "must be a number or boolean");
    case Kind::ScalarType: {
      int64_t code = IntArg(env, op, spec, value);
      if (code < 0 || code >= static_cast<int64_t>(c10::ScalarType::NumOptions)) {
        ArgError(env, op, spec, "is not a known dtype code");
      }
      return code;
    }
    case Kind::Layout:
    case Kind::MemoryFormat: return IntArg(env, op, spec, value);
    case Kind::Device: return ToDevice(value, spec.name.c_str());
    case Kind::Generator: ArgError(env, op, spec, "cannot be passed from JS (use manualSeed for reproducibility)");
    case Kind::String:
      if (!value.IsString()) ArgError(env, op, spec, "must be a string");
      return value.As<Napi::String>().Utf8Value();
  }
  ArgError(env, op, spec, "has an unsupported kind");
}

Napi::Value ToJs(Napi::Env env, c10::IValue value) {
  if (value.isTensor()) return WrapTensor(env, std::move(value).toTensor());
  if (value.isNone()) return env.Null();
  if (value.isInt()) return Napi::Number::New(env, static_cast<double>(value.toInt()));
  if (value.isDouble()) return Napi::Number::New(env, value.toDouble());
  if (value.isBool()) return Napi::Boolean::New(env, value.toBool());
  if (value.isString()) return Napi::String::New(env, value.toStringRef());
  if (value.isTensorList()) {
    auto list = value.toTensorList();
    Napi::Array array = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); ++i) array.Set(i, WrapTensor(env, list.get(i)));
    return array;
  }
  if (value.isIntList()) {
    auto list = value.toIntVector();
    Napi::Array array = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); ++i) array.Set(i, Napi::Number::New(env, static_cast<double>(list[i])));
    return array;
  }
  if (value.isDoubleList()) {
    auto list = value.toDoubleVector();
    Napi::Array array = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); ++i) array.Set(i, Napi::Number::New(env, list[i]));
    return array;
  }
  if (value.isTuple()) {
    const auto& elements = value.toTupleRef().elements();
    Napi::Array array = Napi::Array::New(env, elements.size());
    for (size_t i = 0; i < elements.size(); ++i) array.Set(i, ToJs(env, elements[i]));
    return array;
  }
  if (value.isScalar()) {
    c10::Scalar scalar = value.toScalar();
    if (scalar.isBoolean()) return Napi::Boolean::New(env, scalar.toBool());
    return Napi::Number::New(env, scalar.toDouble());
  }
  if (value.isDevice()) return Napi::String::New(env, DeviceString(value.toDevice()));
  throw MakeError(env, "torchts cannot return a value of type " + value.tagKind(), "ERR_TORCHTS_UNSUPPORTED_OP");
}

// callOp(id, ...args) -> result (single value, array for several returns,
// undefined for returns that alias a written argument: in-place and out=).
Napi::Value CallOp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddonData& data = Data(env);
  int64_t id = info[0].IsNumber() ? info[0].As<Napi::Number>().Int64Value() : -1;
  if (id < 0 || id >= static_cast<int64_t>(data.ops.size())) throw MakeTypeError(env, "callOp: unknown op id");
  const OpEntry& op = *data.ops[id];
  size_t given = info.Length() - 1;
  if (given > op.args.size()) {
    throw MakeTypeError(env, op.label + " takes " + std::to_string(op.args.size()) + " arguments but " +
                                 std::to_string(given) + " were given");
  }
  torch::jit::Stack stack;
  stack.reserve(std::max(op.args.size(), op.returnIsWriteAlias.size()));
  for (size_t i = 0; i < op.args.size(); ++i) {
    stack.push_back(Convert(env, op, op.args[i], i < given ? info[i + 1] : env.Undefined()));
  }
  op.handle.callBoxed(stack);
  size_t returns = op.returnIsWriteAlias.size();
  if (returns == 0) return env.Undefined();
  if (returns == 1) {
    if (op.returnIsWriteAlias[0]) return env.Undefined();
    return ToJs(env, std::move(stack[0]));
  }
  Napi::Array result = Napi::Array::New(env, returns);
  for (size_t i = 0; i < returns; ++i) {
    result.Set(i, op.returnIsWriteAlias[i] ? env.Undefined() : ToJs(env, std::move(stack[i])));
  }
  return result;
}

// Every overload name of an operator, for error messages and discovery.
Napi::Value OpOverloads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = ToString(info[0], "op name");
  Napi::Array result = Napi::Array::New(env);
  uint32_t index = 0;
  for (const c10::OperatorName& opName : c10::Dispatcher::singleton().getAllOpNames()) {
    if (opName.name == name) {
      auto handle = c10::Dispatcher::singleton().findSchema(opName);
      if (handle.has_value()) result.Set(index++, Napi::String::New(env, c10::toString(handle->schema())));
    }
  }
  return result;
}

}  // namespace

void InitOps(Napi::Env env, Napi::Object exports) {
  Export<ResolveOp>(env, exports, "resolveOp");
  Export<OpSchema>(env, exports, "opSchema");
  Export<OpReturns>(env, exports, "opReturns");
  Export<CallOp>(env, exports, "callOp");
  Export<OpOverloads>(env, exports, "opOverloads");
}

}  // namespace torchts
