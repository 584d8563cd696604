// Addon entry point: error translation, argument helpers, per-env state.
#include "common.h"

namespace torchts {

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------
Napi::Error MakeError(Napi::Env env, const std::string& message, const char* code) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  return error;
}

Napi::Error MakeTypeError(Napi::Env env, const std::string& message) {
  Napi::TypeError error = Napi::TypeError::New(env, message);
  error.Set("code", Napi::String::New(env, "ERR_TORCHTS_ARG"));
  return error;
}

Napi::Error MakeRangeError(Napi::Env env, const std::string& message) {
  Napi::RangeError error = Napi::RangeError::New(env, message);
  error.Set("code", Napi::String::New(env, "ERR_TORCHTS_ARG"));
  return error;
}

namespace {
// libtorch messages can carry C++ context ("Exception raised from ... at
// file.cpp:123") and trailing whitespace. Users want the sentence that says
// what is wrong; keep it first and drop the C++ location lines unless
// TORCHTS_CPP_STACKTRACE=1 asks for everything.
std::string CleanTorchMessage(const c10::Error& error) {
  static const bool keepAll = [] {
    const char* flag = std::getenv("TORCHTS_CPP_STACKTRACE");
    return flag != nullptr && std::string(flag) == "1";
  }();
  if (keepAll) return error.what();
  std::string message = error.what_without_backtrace();
  std::string cleaned;
  size_t start = 0;
  while (start <= message.size()) {
    size_t end = message.find('\n', start);
    if (end == std::string::npos) end = message.size();
    std::string line = message.substr(start, end - start);
    // Dispatcher errors append one "Key: registered at file:line" line per
    // backend; they are noise for users.
    bool registration = line.find(" registered at ") != std::string::npos;
    if (line.rfind("Exception raised from", 0) != 0 && !line.empty() && !registration) {
      if (!cleaned.empty()) cleaned += '\n';
      cleaned += line;
    }
    start = end + 1;
  }
  while (!cleaned.empty() && std::isspace(static_cast<unsigned char>(cleaned.back()))) cleaned.pop_back();
  return cleaned.empty() ? std::string("libtorch error") : cleaned;
}
}  // namespace

Napi::Error TranslateTorchError(Napi::Env env, const c10::Error& error) {
  std::string message = CleanTorchMessage(error);
  if (dynamic_cast<const c10::OutOfMemoryError*>(&error) != nullptr) {
    return MakeError(env, message, "ERR_TORCH_OOM");
  }
  if (dynamic_cast<const c10::TypeError*>(&error) != nullptr) {
    Napi::TypeError typed = Napi::TypeError::New(env, message);
    typed.Set("code", Napi::String::New(env, "ERR_TORCH_TYPE"));
    return typed;
  }
  if (dynamic_cast<const c10::IndexError*>(&error) != nullptr) {
    Napi::RangeError ranged = Napi::RangeError::New(env, message);
    ranged.Set("code", Napi::String::New(env, "ERR_TORCH_INDEX"));
    return ranged;
  }
  if (dynamic_cast<const c10::NotImplementedError*>(&error) != nullptr) {
    return MakeError(env, message, "ERR_TORCH_NOT_IMPLEMENTED");
  }
  if (dynamic_cast<const c10::ValueError*>(&error) != nullptr) {
    return MakeError(env, message, "ERR_TORCH_VALUE");
  }
  return MakeError(env, message, "ERR_TORCH");
}

// ---------------------------------------------------------------------------
// Argument helpers
// ---------------------------------------------------------------------------
int64_t ToInt(const Napi::Value& value, const char* what) {
  if (value.IsNumber()) {
    double number = value.As<Napi::Number>().DoubleValue();
    if (std::isfinite(number) && std::floor(number) == number && std::fabs(number) <= 9007199254740992.0) {
      return static_cast<int64_t>(number);
    }
    throw MakeTypeError(value.Env(), std::string(what) + " must be an integer, got " +
                                         value.ToString().Utf8Value());
  }
  if (value.IsBigInt()) {
    bool lossless = false;
    int64_t result = value.As<Napi::BigInt>().Int64Value(&lossless);
    if (!lossless) throw MakeTypeError(value.Env(), std::string(what) + " does not fit in int64");
    return result;
  }
  throw MakeTypeError(value.Env(), std::string(what) + " must be an integer");
}

double ToDouble(const Napi::Value& value, const char* what) {
  if (value.IsNumber()) return value.As<Napi::Number>().DoubleValue();
  if (value.IsBigInt()) {
    bool lossless = false;
    return static_cast<double>(value.As<Napi::BigInt>().Int64Value(&lossless));
  }
  throw MakeTypeError(value.Env(), std::string(what) + " must be a number");
}

bool ToBool(const Napi::Value& value, const char* what) {
  if (value.IsBoolean()) return value.As<Napi::Boolean>().Value();
  throw MakeTypeError(value.Env(), std::string(what) + " must be a boolean");
}

std::string ToString(const Napi::Value& value, const char* what) {
  if (value.IsString()) return value.As<Napi::String>().Utf8Value();
  throw MakeTypeError(value.Env(), std::string(what) + " must be a string");
}

std::vector<int64_t> ToIntVector(const Napi::Value& value, const char* what) {
  if (!value.IsArray()) throw MakeTypeError(value.Env(), std::string(what) + " must be an array of integers");
  Napi::Array array = value.As<Napi::Array>();
  std::vector<int64_t> result(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) result[i] = ToInt(array.Get(i), what);
  return result;
}

c10::ScalarType ToScalarType(const Napi::Value& value, const char* what) {
  int64_t code = ToInt(value, what);
  if (code < 0 || code >= static_cast<int64_t>(c10::ScalarType::NumOptions)) {
    throw MakeTypeError(value.Env(), std::string(what) + " is not a known dtype code");
  }
  return static_cast<c10::ScalarType>(code);
}

c10::Device ToDevice(const Napi::Value& value, const char* what) {
  std::string text = ToString(value, what);
  try {
    return c10::Device(text);
  } catch (const c10::Error&) {
    throw MakeTypeError(value.Env(), std::string(what) + ": invalid device '" + text +
                                         "' (expected 'cpu', 'cuda' or 'cuda:N')");
  }
}

Napi::Value ShapeToJs(Napi::Env env, c10::IntArrayRef sizes) {
  Napi::Array shape = Napi::Array::New(env, sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) shape.Set(i, Napi::Number::New(env, static_cast<double>(sizes[i])));
  return shape;
}

std::string DeviceString(const c10::Device& device) {
  if (device.is_cpu()) return "cpu";
  return device.str();  // "cuda:0": the index is always known for allocated tensors
}

// ---------------------------------------------------------------------------
// Per-environment state
// ---------------------------------------------------------------------------
AddonData& Data(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData<AddonData>(new AddonData());
  // NNPACK only serves a few convolution shapes and, on CPUs it does not
  // support, logs "Could not initialize NNPACK" on every such call.
  at::globalContext().setUserEnabledNNPACK(false);
  InstallCpuAllocator();
  InitTensor(env, exports);
  InitOps(env, exports);
  InitRuntime(env, exports);
  InitModules(env, exports);
  InitOptim(env, exports);
  InitSerialize(env, exports);
  InitDistributed(env, exports);
  return exports;
}

}  // namespace torchts

static Napi::Object InitTorchts(Napi::Env env, Napi::Object exports) { return torchts::InitAddon(env, exports); }

NODE_API_MODULE(torchts, InitTorchts)
