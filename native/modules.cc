// Leaf modules: thin handles on torch::nn modules, so initialisation and
// forward semantics are exactly libtorch's (= PyTorch's). One exception in
// how, not what: Conv2d runs convs on tiny maps as a matmul (the same
// function, summed in another order; see LoweredConv2d). Composite modules
// (blocks, ResNet) are TypeScript (lib/nn/).
#include "common.h"

namespace torchts {

struct ModuleBox {
  std::string kind;
  std::shared_ptr<torch::nn::Module> module;
  std::function<at::Tensor(const at::Tensor&)> forward;
};

template <>
struct TypeTag<ModuleBox> {
  static constexpr napi_type_tag tag = {0x3c91d2f0a4b74e55ULL, 0x8e1f6a2b9c0d4b77ULL};
  static constexpr const char* name = "Module";
};

namespace {

// ---- option parsing --------------------------------------------------------

class Options {
 public:
  Options(Napi::Object object, std::string kind) : object_(object), kind_(std::move(kind)) {}

  bool Has(const char* key) const {
    Napi::Value value = object_.Get(key);
    return !value.IsUndefined() && !value.IsNull();
  }

  int64_t Int(const char* key, std::optional<int64_t> fallback = std::nullopt) const {
    if (!Has(key)) return Required(key, fallback);
    int64_t value = ToInt(object_.Get(key), Label(key).c_str());
    return value;
  }

  int64_t Positive(const char* key, std::optional<int64_t> fallback = std::nullopt) const {
    int64_t value = Int(key, fallback);
    if (value < 1) throw MakeRangeError(object_.Env(), Label(key) + " must be >= 1, got " + std::to_string(value));
    return value;
  }

  double Double(const char* key, double fallback) const {
    if (!Has(key)) return fallback;
    double value = ToDouble(object_.Get(key), Label(key).c_str());
    if (!std::isfinite(value)) throw MakeTypeError(object_.Env(), Label(key) + " must be a finite number");
    return value;
  }

  bool Bool(const char* key, bool fallback) const {
    if (!Has(key)) return fallback;
    return ToBool(object_.Get(key), Label(key).c_str());
  }

  // A number or a [h, w] pair, as in Python's int-or-tuple arguments.
  torch::ExpandingArray<2> Pair(const char* key, std::optional<int64_t> fallback, int64_t minimum) const {
    std::vector<int64_t> values;
    if (!Has(key)) {
      values = {Required(key, fallback), Required(key, fallback)};
    } else if (object_.Get(key).IsArray()) {
      values = ToIntVector(object_.Get(key), Label(key).c_str());
    } else {
      int64_t single = ToInt(object_.Get(key), Label(key).c_str());
      values = {single, single};
    }
    if (values.size() != 2) throw MakeTypeError(object_.Env(), Label(key) + " must be a number or a pair of numbers");
    for (int64_t v : values) {
      if (v < minimum) {
        throw MakeRangeError(object_.Env(), Label(key) + " must be >= " + std::to_string(minimum) + ", got " + std::to_string(v));
      }
    }
    return torch::ExpandingArray<2>({values[0], values[1]});
  }

  std::string String(const char* key, const std::string& fallback) const {
    if (!Has(key)) return fallback;
    return ToString(object_.Get(key), Label(key).c_str());
  }

 private:
  int64_t Required(const char* key, std::optional<int64_t> fallback) const {
    if (!fallback.has_value()) throw MakeTypeError(object_.Env(), Label(key) + " is required");
    return *fallback;
  }
  std::string Label(const char* key) const { return kind_ + " option '" + key + "'"; }

  Napi::Object object_;
  std::string kind_;
};

template <typename Holder>
std::unique_ptr<ModuleBox> Box(const std::string& kind, Holder holder) {
  auto box = std::make_unique<ModuleBox>();
  box->kind = kind;
  auto impl = holder.ptr();
  box->module = impl;
  box->forward = [impl](const at::Tensor& input) { return impl->forward(input); };
  return box;
}

// ---- convolutions on tiny maps ------------------------------------------------
//
// oneDNN computes every tap of the kernel for every output pixel, padding
// included. On the maps of ResNet's last stages (2x2 and 1x1 at 32x32 or
// 64x64 input) most taps fall on padding: a 3x3 conv on a 1x1 map does 9x
// the work of its centre tap, and on 2x2 maps 2.25x. Its backward pass is
// slower still (on 2 cores, 27 ms for a 512-channel 3x3 conv on a 1x1 map,
// batch 256, where the equivalent matmul takes 3 ms). Any conv is exactly
// one matmul:
// out[n, (o, p)] = sum over (i, q) of x[n, (i, q)] * W[o, i, tap(p, q)],
// with tap(p, q) the kernel position that joins output pixel p to input
// pixel q, or a zero where none does. The weight matrix is gathered from the
// kernel (autograd scatters its gradient back), so training sees the same
// function and gradients as conv2d, summed in another order. That matrix
// holds in*H*W x out*OH*OW values, so it only pays while the input has at
// most half as many pixels as the kernel has taps: 1x1 and 2x2 maps for a
// 3x3 kernel. On 3x3 maps (as many pixels as taps) the matmul was 1.7x
// slower than oneDNN for 512 channels.

struct ConvGeometry {
  int64_t kh, kw, sh, sw, ph, pw;
};

// The geometry for LoweredConv2d when it applies: zeros padding, no groups
// or dilation, an input with at most half as many pixels as the kernel has
// taps (1x1 kernels are matmuls already), and input that conv2d would
// accept. Otherwise nullopt, and conv2d runs (and reports bad input itself).
std::optional<ConvGeometry> TinyMapGeometry(const torch::nn::detail::ConvNdOptions<2>& options, const at::Tensor& input) {
  const auto& dilation = *options.dilation();
  if (input.dim() != 4 || input.size(1) != options.in_channels()) return std::nullopt;
  if (options.groups() != 1 || dilation[0] != 1 || dilation[1] != 1) return std::nullopt;
  if (!std::holds_alternative<torch::enumtype::kZeros>(options.padding_mode())) return std::nullopt;
  const auto* padding = std::get_if<torch::ExpandingArray<2>>(&options.padding());
  if (padding == nullptr) return std::nullopt;
  const ConvGeometry g{(*options.kernel_size())[0], (*options.kernel_size())[1], (*options.stride())[0], (*options.stride())[1], (**padding)[0], (**padding)[1]};
  const int64_t taps = g.kh * g.kw;
  if (taps == 1 || 2 * input.size(2) * input.size(3) > taps) return std::nullopt;
  if (input.size(2) + 2 * g.ph < g.kh || input.size(3) + 2 * g.pw < g.kw) return std::nullopt;  // no output pixel
  return g;
}

at::Tensor LoweredConv2d(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias, const ConvGeometry& g) {
  const int64_t batch = input.size(0), in = input.size(1), height = input.size(2), width = input.size(3);
  const int64_t out = weight.size(0);
  const int64_t outHeight = (height + 2 * g.ph - g.kh) / g.sh + 1;
  const int64_t outWidth = (width + 2 * g.pw - g.kw) / g.sw + 1;
  const int64_t zeroTap = g.kh * g.kw;
  // taps[p][q]: kernel position from output pixel p to input pixel q.
  std::vector<int64_t> taps;
  taps.reserve(outHeight * outWidth * height * width);
  bool needsZeroTap = false;
  for (int64_t oy = 0; oy < outHeight; ++oy) {
    for (int64_t ox = 0; ox < outWidth; ++ox) {
      for (int64_t iy = 0; iy < height; ++iy) {
        for (int64_t ix = 0; ix < width; ++ix) {
          const int64_t ky = iy - (oy * g.sh - g.ph), kx = ix - (ox * g.sw - g.pw);
          const bool joined = ky >= 0 && ky < g.kh && kx >= 0 && kx < g.kw;
          taps.push_back(joined ? ky * g.kw + kx : zeroTap);
          needsZeroTap = needsZeroTap || !joined;
        }
      }
    }
  }
  at::Tensor index = at::tensor(taps, at::TensorOptions().dtype(at::kLong)).to(weight.device());
  // Appending the zero tap copies the whole kernel, so only when a pair of
  // pixels has no tap; in ResNet's 3x3 convs on 1x1 and 2x2 maps every pair has one.
  at::Tensor kernel = weight.reshape({out, in, zeroTap});
  if (needsZeroTap) kernel = at::cat({kernel, at::zeros({out, in, 1}, weight.options())}, 2);
  at::Tensor matrix = kernel.index_select(2, index)
                          .reshape({out, in, outHeight * outWidth, height * width})
                          .permute({1, 3, 0, 2})
                          .reshape({in * height * width, out * outHeight * outWidth});
  at::Tensor result = at::matmul(input.reshape({batch, in * height * width}), matrix).reshape({batch, out, outHeight, outWidth});
  if (bias.defined()) result = result + bias.reshape({1, out, 1, 1});
  return result.contiguous(input.suggest_memory_format());
}

std::unique_ptr<ModuleBox> MakeConv2d(const Options& o) {
  int64_t in = o.Positive("inChannels");
  int64_t out = o.Positive("outChannels");
  auto options = torch::nn::Conv2dOptions(in, out, o.Pair("kernelSize", std::nullopt, 1))
                     .stride(o.Pair("stride", 1, 1))
                     .dilation(o.Pair("dilation", 1, 1))
                     .groups(o.Positive("groups", 1))
                     .bias(o.Bool("bias", true));
  options.padding(o.Pair("padding", 0, 0));
  std::string mode = o.String("paddingMode", "zeros");
  if (mode == "zeros") options.padding_mode(torch::kZeros);
  else if (mode == "reflect") options.padding_mode(torch::kReflect);
  else if (mode == "replicate") options.padding_mode(torch::kReplicate);
  else if (mode == "circular") options.padding_mode(torch::kCircular);
  else throw std::invalid_argument("conv2d paddingMode must be zeros, reflect, replicate or circular, got '" + mode + "'");
  auto box = Box("Conv2d", torch::nn::Conv2d(options));
  auto impl = std::static_pointer_cast<torch::nn::Conv2dImpl>(box->module);
  box->forward = [impl](const at::Tensor& input) {
    const auto geometry = TinyMapGeometry(impl->options, input);
    return geometry ? LoweredConv2d(input, impl->weight, impl->bias, *geometry) : impl->forward(input);
  };
  return box;
}

std::unique_ptr<ModuleBox> MakeBatchNorm2d(const Options& o) {
  auto options = torch::nn::BatchNorm2dOptions(o.Positive("numFeatures"))
                     .eps(o.Double("eps", 1e-5))
                     .affine(o.Bool("affine", true))
                     .track_running_stats(o.Bool("trackRunningStats", true));
  // momentum null = cumulative moving average, as in PyTorch.
  if (o.Has("momentum")) options.momentum(o.Double("momentum", 0.1));
  else if (!o.Bool("cumulativeAverage", false)) options.momentum(0.1);
  else options.momentum(std::nullopt);
  return Box("BatchNorm2d", torch::nn::BatchNorm2d(options));
}

std::unique_ptr<ModuleBox> MakeLinear(const Options& o) {
  auto options = torch::nn::LinearOptions(o.Positive("inFeatures"), o.Positive("outFeatures")).bias(o.Bool("bias", true));
  return Box("Linear", torch::nn::Linear(options));
}

std::unique_ptr<ModuleBox> MakeMaxPool2d(const Options& o) {
  auto kernel = o.Pair("kernelSize", std::nullopt, 1);
  auto options = torch::nn::MaxPool2dOptions(kernel)
                     .stride(o.Has("stride") ? o.Pair("stride", 1, 1) : kernel)
                     .padding(o.Pair("padding", 0, 0))
                     .dilation(o.Pair("dilation", 1, 1))
                     .ceil_mode(o.Bool("ceilMode", false));
  return Box("MaxPool2d", torch::nn::MaxPool2d(options));
}

std::unique_ptr<ModuleBox> MakeAvgPool2d(const Options& o) {
  auto kernel = o.Pair("kernelSize", std::nullopt, 1);
  auto options = torch::nn::AvgPool2dOptions(kernel)
                     .stride(o.Has("stride") ? o.Pair("stride", 1, 1) : kernel)
                     .padding(o.Pair("padding", 0, 0))
                     .ceil_mode(o.Bool("ceilMode", false))
                     .count_include_pad(o.Bool("countIncludePad", true));
  return Box("AvgPool2d", torch::nn::AvgPool2d(options));
}

std::unique_ptr<ModuleBox> MakeAdaptiveAvgPool2d(const Options& o) {
  auto size = o.Pair("outputSize", std::nullopt, 1);
  return Box("AdaptiveAvgPool2d", torch::nn::AdaptiveAvgPool2d(torch::nn::AdaptiveAvgPool2dOptions({size->at(0), size->at(1)})));
}

std::unique_ptr<ModuleBox> MakeDropout(const Options& o) {
  double p = o.Double("p", 0.5);
  if (!(p >= 0 && p <= 1)) throw std::invalid_argument("dropout option 'p' must be in [0, 1], got " + std::to_string(p));
  return Box("Dropout", torch::nn::Dropout(torch::nn::DropoutOptions(p).inplace(o.Bool("inplace", false))));
}

std::unique_ptr<ModuleBox> MakeModule(const std::string& kind, const Options& o) {
  if (kind == "conv2d") return MakeConv2d(o);
  if (kind == "batchnorm2d") return MakeBatchNorm2d(o);
  if (kind == "linear") return MakeLinear(o);
  if (kind == "maxpool2d") return MakeMaxPool2d(o);
  if (kind == "avgpool2d") return MakeAvgPool2d(o);
  if (kind == "adaptiveavgpool2d") return MakeAdaptiveAvgPool2d(o);
  if (kind == "relu") return Box("ReLU", torch::nn::ReLU(torch::nn::ReLUOptions(o.Bool("inplace", false))));
  if (kind == "dropout") return MakeDropout(o);
  if (kind == "flatten") {
    return Box("Flatten", torch::nn::Flatten(torch::nn::FlattenOptions().start_dim(o.Int("startDim", 1)).end_dim(o.Int("endDim", -1))));
  }
  if (kind == "identity") return Box("Identity", torch::nn::Identity());
  throw std::invalid_argument("unknown module kind '" + kind + "'");
}

// createModule(kind, options) -> handle
Napi::Value CreateModule(const Napi::CallbackInfo& info) {
  std::string kind = ToString(info[0], "module kind");
  if (!info[1].IsObject()) throw MakeTypeError(info.Env(), "module options must be an object");
  try {
    return WrapObject(info.Env(), MakeModule(kind, Options(info[1].As<Napi::Object>(), kind)));
  } catch (const std::invalid_argument& error) {
    throw MakeTypeError(info.Env(), error.what());
  }
}

// The module behind a handle; a released module is a JS error.
ModuleBox* LiveModule(const Napi::Value& value) {
  ModuleBox* box = UnwrapObject<ModuleBox>(value, "module");
  if (!box->module) throw MakeError(value.Env(), box->kind + " module was disposed", "ERR_TORCHTS_DISPOSED");
  return box;
}

Napi::Value ModuleForward(const Napi::CallbackInfo& info) {
  ModuleBox* box = LiveModule(info[0]);
  at::Tensor input = UnwrapTensor(info[1], "input");
  return WrapTensor(info.Env(), box->forward(input));
}

Napi::Value NamedTensors(Napi::Env env, const torch::OrderedDict<std::string, at::Tensor>& tensors) {
  Napi::Array result = Napi::Array::New(env, tensors.size());
  uint32_t index = 0;
  for (const auto& item : tensors) {
    Napi::Array pair = Napi::Array::New(env, 2);
    pair.Set(0u, Napi::String::New(env, item.key()));
    pair.Set(1u, WrapTensor(env, item.value()));
    result.Set(index++, pair);
  }
  return result;
}

// [[name, tensorHandle], ...] in registration order (PyTorch's names).
Napi::Value ModuleParameters(const Napi::CallbackInfo& info) {
  return NamedTensors(info.Env(), LiveModule(info[0])->module->named_parameters(true));
}

Napi::Value ModuleBuffers(const Napi::CallbackInfo& info) {
  return NamedTensors(info.Env(), LiveModule(info[0])->module->named_buffers(true));
}

Napi::Value ModuleTrain(const Napi::CallbackInfo& info) {
  LiveModule(info[0])->module->train(ToBool(info[1], "training"));
  return info.Env().Undefined();
}

Napi::Value ModuleIsTraining(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), LiveModule(info[0])->module->is_training());
}

Napi::Value ModuleDescribe(const Napi::CallbackInfo& info) {
  ModuleBox* box = LiveModule(info[0]);
  std::ostringstream stream;
  box->module->pretty_print(stream);
  return Napi::String::New(info.Env(), stream.str());
}

// Frees the native module now (its tensors go once no handle refers to them)
// instead of whenever the garbage collector finds the handle.
Napi::Value ModuleRelease(const Napi::CallbackInfo& info) {
  ModuleBox* box = UnwrapObject<ModuleBox>(info[0], "module");
  box->forward = nullptr;
  box->module.reset();
  return info.Env().Undefined();
}

}  // namespace

void InitModules(Napi::Env env, Napi::Object exports) {
  Export<CreateModule>(env, exports, "createModule");
  Export<ModuleForward>(env, exports, "moduleForward");
  Export<ModuleParameters>(env, exports, "moduleParameters");
  Export<ModuleBuffers>(env, exports, "moduleBuffers");
  Export<ModuleTrain>(env, exports, "moduleTrain");
  Export<ModuleIsTraining>(env, exports, "moduleIsTraining");
  Export<ModuleDescribe>(env, exports, "moduleDescribe");
  Export<ModuleRelease>(env, exports, "moduleRelease");
}

}  // namespace torchts
