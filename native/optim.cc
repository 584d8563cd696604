// Optimizers: handles on torch::optim (SGD, Adam, AdamW, RMSprop) with
// parameter groups, readable/writable group options, and state exported and
// imported as named tensors in PyTorch's state_dict layout (state[i][name],
// i counting parameters across groups), so checkpoints resume exactly.
#include "common.h"

namespace torchts {

struct OptimizerBox {
  std::string kind;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
};

template <>
struct TypeTag<OptimizerBox> {
  static constexpr napi_type_tag tag = {0x51e2a4c8d0f34a19ULL, 0xb7c6d5e4f3a2b190ULL};
  static constexpr const char* name = "Optimizer";
};

namespace {

double Finite(Napi::Env env, const Napi::Value& value, const std::string& what) {
  double number = ToDouble(value, what.c_str());
  if (!std::isfinite(number)) throw MakeTypeError(env, what + " must be a finite number, got " + value.ToString().Utf8Value());
  return number;
}

// Applies the options present in `object` to `options` (unknown keys are an error).
template <typename Options>
void ApplyOptions(Napi::Env env, const std::string& kind, Napi::Object object, Options& options);

double NonNegative(Napi::Env env, const Napi::Value& value, const std::string& what) {
  double number = Finite(env, value, what);
  if (number < 0) throw MakeRangeError(env, what + " must be >= 0, got " + std::to_string(number));
  return number;
}

double Beta(Napi::Env env, const Napi::Value& value, const std::string& what) {
  double number = Finite(env, value, what);
  if (number < 0 || number >= 1) throw MakeTypeError(env, what + " must be in [0, 1), got " + std::to_string(number));
  return number;
}

void UnknownOption(Napi::Env env, const std::string& kind, const std::string& key, const char* known) {
  throw MakeTypeError(env, kind + ": unknown option '" + key + "' (known: " + known + ")");
}

// Calls apply(key, value) for every defined option; apply returns false for
// keys it does not know, which is an error naming the known ones.
template <typename Apply>
void ForEachOption(Napi::Env env, const std::string& kind, Napi::Object object, const char* known, Apply apply) {
  Napi::Array keys = object.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    std::string key = keys.Get(i).ToString().Utf8Value();
    Napi::Value value = object.Get(key);
    if (value.IsUndefined()) continue;
    if (!apply(key, value)) UnknownOption(env, kind, key, known);
  }
}

template <>
void ApplyOptions(Napi::Env env, const std::string& kind, Napi::Object object, torch::optim::SGDOptions& o) {
  ForEachOption(env, kind, object, "lr, momentum, dampening, weightDecay, nesterov", [&](const std::string& key, const Napi::Value& v) {
    if (key == "lr") o.lr(NonNegative(env, v, kind + " lr"));
    else if (key == "momentum") o.momentum(NonNegative(env, v, kind + " momentum"));
    else if (key == "dampening") o.dampening(Finite(env, v, kind + " dampening"));
    else if (key == "weightDecay") o.weight_decay(NonNegative(env, v, kind + " weightDecay"));
    else if (key == "nesterov") o.nesterov(ToBool(v, (kind + " nesterov").c_str()));
    else return false;
    return true;
  });
}

template <typename AdamLike>
void ApplyAdamOptions(Napi::Env env, const std::string& kind, Napi::Object object, AdamLike& o) {
  ForEachOption(env, kind, object, "lr, betas, eps, weightDecay, amsgrad", [&](const std::string& key, const Napi::Value& v) {
    if (key == "lr") o.lr(NonNegative(env, v, kind + " lr"));
    else if (key == "betas") {
      if (!v.IsArray() || v.As<Napi::Array>().Length() != 2) throw MakeTypeError(env, kind + " betas must be [beta1, beta2]");
      Napi::Array betas = v.As<Napi::Array>();
      o.betas(std::make_tuple(Beta(env, betas.Get(0u), kind + " beta1"), Beta(env, betas.Get(1u), kind + " beta2")));
    } else if (key == "eps") o.eps(NonNegative(env, v, kind + " eps"));
    else if (key == "weightDecay") o.weight_decay(NonNegative(env, v, kind + " weightDecay"));
    else if (key == "amsgrad") o.amsgrad(ToBool(v, (kind + " amsgrad").c_str()));
    else return false;
    return true;
  });
}

template <>
void ApplyOptions(Napi::Env env, const std::string& kind, Napi::Object object, torch::optim::AdamOptions& o) {
  ApplyAdamOptions(env, kind, object, o);
}

template <>
void ApplyOptions(Napi::Env env, const std::string& kind, Napi::Object object, torch::optim::AdamWOptions& o) {
  ApplyAdamOptions(env, kind, object, o);
}

template <>
void ApplyOptions(Napi::Env env, const std::string& kind, Napi::Object object, torch::optim::RMSpropOptions& o) {
  ForEachOption(env, kind, object, "lr, alpha, eps, weightDecay, momentum, centered", [&](const std::string& key, const Napi::Value& v) {
    if (key == "lr") o.lr(NonNegative(env, v, kind + " lr"));
    else if (key == "alpha") o.alpha(NonNegative(env, v, kind + " alpha"));
    else if (key == "eps") o.eps(NonNegative(env, v, kind + " eps"));
    else if (key == "weightDecay") o.weight_decay(NonNegative(env, v, kind + " weightDecay"));
    else if (key == "momentum") o.momentum(NonNegative(env, v, kind + " momentum"));
    else if (key == "centered") o.centered(ToBool(v, (kind + " centered").c_str()));
    else return false;
    return true;
  });
}

Napi::Object OptionsToJs(Napi::Env env, const std::string& kind, torch::optim::OptimizerOptions& base) {
  Napi::Object out = Napi::Object::New(env);
  if (kind == "sgd") {
    auto& o = static_cast<torch::optim::SGDOptions&>(base);
    out.Set("lr", o.lr());
    out.Set("momentum", o.momentum());
    out.Set("dampening", o.dampening());
    out.Set("weightDecay", o.weight_decay());
    out.Set("nesterov", o.nesterov());
  } else if (kind == "adam" || kind == "adamw") {
    auto put = [&](auto& o) {
      out.Set("lr", o.lr());
      Napi::Array betas = Napi::Array::New(env, 2);
      betas.Set(0u, std::get<0>(o.betas()));
      betas.Set(1u, std::get<1>(o.betas()));
      out.Set("betas", betas);
      out.Set("eps", o.eps());
      out.Set("weightDecay", o.weight_decay());
      out.Set("amsgrad", o.amsgrad());
    };
    if (kind == "adam") put(static_cast<torch::optim::AdamOptions&>(base));
    else put(static_cast<torch::optim::AdamWOptions&>(base));
  } else {
    auto& o = static_cast<torch::optim::RMSpropOptions&>(base);
    out.Set("lr", o.lr());
    out.Set("alpha", o.alpha());
    out.Set("eps", o.eps());
    out.Set("weightDecay", o.weight_decay());
    out.Set("momentum", o.momentum());
    out.Set("centered", o.centered());
  }
  return out;
}

void ApplyToGroupOptions(Napi::Env env, const std::string& kind, Napi::Object object, torch::optim::OptimizerOptions& base) {
  if (kind == "sgd") ApplyOptions(env, "SGD", object, static_cast<torch::optim::SGDOptions&>(base));
  else if (kind == "adam") ApplyOptions(env, "Adam", object, static_cast<torch::optim::AdamOptions&>(base));
  else if (kind == "adamw") ApplyOptions(env, "AdamW", object, static_cast<torch::optim::AdamWOptions&>(base));
  else ApplyOptions(env, "RMSprop", object, static_cast<torch::optim::RMSpropOptions&>(base));
}

std::vector<at::Tensor> ParamsOf(Napi::Env env, const Napi::Value& value, size_t group) {
  if (!value.IsArray()) throw MakeTypeError(env, "param group " + std::to_string(group) + ": params must be an array of Tensors");
  Napi::Array array = value.As<Napi::Array>();
  std::vector<at::Tensor> params;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    at::Tensor param = UnwrapTensor(array.Get(i), "parameter");
    if (!param.is_leaf()) {
      throw MakeTypeError(env, "param group " + std::to_string(group) + ": parameter " + std::to_string(i) +
                                   " is not a leaf tensor (optimizers update leaves, e.g. module parameters)");
    }
    if (!at::isFloatingType(param.scalar_type())) {
      throw MakeTypeError(env, "param group " + std::to_string(group) + ": parameter " + std::to_string(i) +
                                   " has dtype " + c10::toString(param.scalar_type()) + "; only floating-point tensors can be optimized");
    }
    params.push_back(param);
  }
  return params;
}

template <typename Optim, typename Options>
std::unique_ptr<torch::optim::Optimizer> Build(Napi::Env env, const std::string& kind, Napi::Array groups, Napi::Object defaults,
                                               Options base) {
  ApplyOptions(env, kind, defaults, base);
  std::vector<torch::optim::OptimizerParamGroup> paramGroups;
  std::vector<Napi::Object> overrides;
  for (uint32_t g = 0; g < groups.Length(); ++g) {
    if (!groups.Get(g).IsObject()) throw MakeTypeError(env, "param group " + std::to_string(g) + " must be an object");
    Napi::Object group = groups.Get(g).As<Napi::Object>();
    paramGroups.emplace_back(ParamsOf(env, group.Get("params"), g));
    overrides.push_back(group.Get("options").IsObject() ? group.Get("options").As<Napi::Object>() : Napi::Object::New(env));
  }
  auto optimizer = std::make_unique<Optim>(std::move(paramGroups), base);
  // Group overrides go on after construction: libtorch (2.13) merges group
  // options "by comparison", treating a value equal to the option's
  // constructor default (e.g. weight_decay 0) as unset and replacing it with
  // the optimizer default -- so `{weightDecay: 0}` for norms and biases would
  // silently get the global weight decay.
  for (size_t g = 0; g < overrides.size(); ++g) {
    ApplyOptions(env, kind, overrides[g], static_cast<Options&>(optimizer->param_groups()[g].options()));
  }
  return optimizer;
}

// createOptimizer(kind, groups: [{params, options?}], defaults) -> handle
Napi::Value CreateOptimizer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string kind = ToString(info[0], "optimizer kind");
  if (!info[1].IsArray()) throw MakeTypeError(env, "param groups must be an array");
  if (!info[2].IsObject()) throw MakeTypeError(env, "optimizer defaults must be an object");
  Napi::Array groups = info[1].As<Napi::Array>();
  Napi::Object defaults = info[2].As<Napi::Object>();
  auto box = std::make_unique<OptimizerBox>();
  box->kind = kind;
  if (kind == "sgd") {
    if (!defaults.Has("lr")) throw MakeTypeError(env, "SGD needs an lr");
    box->optimizer = Build<torch::optim::SGD>(env, "SGD", groups, defaults, torch::optim::SGDOptions(0.01));
  } else if (kind == "adam") {
    box->optimizer = Build<torch::optim::Adam>(env, "Adam", groups, defaults, torch::optim::AdamOptions());
  } else if (kind == "adamw") {
    box->optimizer = Build<torch::optim::AdamW>(env, "AdamW", groups, defaults, torch::optim::AdamWOptions());
  } else if (kind == "rmsprop") {
    box->optimizer = Build<torch::optim::RMSprop>(env, "RMSprop", groups, defaults, torch::optim::RMSpropOptions());
  } else {
    throw MakeTypeError(env, "unknown optimizer '" + kind + "' (sgd, adam, adamw, rmsprop)");
  }
  return WrapObject(env, std::move(box));
}

Napi::Value OptimizerStep(const Napi::CallbackInfo& info) {
  UnwrapObject<OptimizerBox>(info[0], "optimizer")->optimizer->step();
  return info.Env().Undefined();
}

Napi::Value OptimizerZeroGrad(const Napi::CallbackInfo& info) {
  bool setToNone = info[1].IsUndefined() ? true : ToBool(info[1], "setToNone");
  UnwrapObject<OptimizerBox>(info[0], "optimizer")->optimizer->zero_grad(setToNone);
  return info.Env().Undefined();
}

torch::optim::OptimizerParamGroup& GroupArg(OptimizerBox* box, const Napi::Value& value) {
  int64_t index = ToInt(value, "group index");
  auto& groups = box->optimizer->param_groups();
  if (index < 0 || index >= static_cast<int64_t>(groups.size())) {
    throw MakeTypeError(value.Env(), "group index " + std::to_string(index) + " is out of range (" +
                                         std::to_string(groups.size()) + " groups)");
  }
  return groups[index];
}

Napi::Value OptimizerGroupCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), UnwrapObject<OptimizerBox>(info[0], "optimizer")->optimizer->param_groups().size());
}

Napi::Value OptimizerGetOptions(const Napi::CallbackInfo& info) {
  OptimizerBox* box = UnwrapObject<OptimizerBox>(info[0], "optimizer");
  return OptionsToJs(info.Env(), box->kind, GroupArg(box, info[1]).options());
}

Napi::Value OptimizerSetOptions(const Napi::CallbackInfo& info) {
  OptimizerBox* box = UnwrapObject<OptimizerBox>(info[0], "optimizer");
  if (!info[2].IsObject()) throw MakeTypeError(info.Env(), "options must be an object");
  ApplyToGroupOptions(info.Env(), box->kind, info[2].As<Napi::Object>(), GroupArg(box, info[1]).options());
  return info.Env().Undefined();
}

// Every parameter in state_dict order (groups in order, params in order).
std::vector<at::Tensor> AllParams(OptimizerBox* box) {
  std::vector<at::Tensor> params;
  for (auto& group : box->optimizer->param_groups()) {
    for (auto& p : group.params()) params.push_back(p);
  }
  return params;
}

void PushEntry(Napi::Env env, Napi::Array& out, size_t index, const char* name, const at::Tensor& tensor) {
  if (!tensor.defined()) return;
  Napi::Array entry = Napi::Array::New(env, 3);
  entry.Set(0u, Napi::Number::New(env, static_cast<double>(index)));
  entry.Set(1u, Napi::String::New(env, name));
  entry.Set(2u, WrapTensor(env, tensor));
  out.Set(out.Length(), entry);
}

// PyTorch stores `step` as a float32 scalar tensor; so do we, for interchange.
at::Tensor StepTensor(int64_t step) { return at::scalar_tensor(static_cast<double>(step), at::kFloat); }

// optimizerGetState(handle) -> [[paramIndex, name, tensorHandle], ...]
Napi::Value OptimizerGetState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OptimizerBox* box = UnwrapObject<OptimizerBox>(info[0], "optimizer");
  auto& state = box->optimizer->state();
  std::vector<at::Tensor> params = AllParams(box);
  Napi::Array out = Napi::Array::New(env);
  for (size_t i = 0; i < params.size(); ++i) {
    auto found = state.find(params[i].unsafeGetTensorImpl());
    if (found == state.end()) continue;
    torch::optim::OptimizerParamState& s = *found->second;
    if (box->kind == "sgd") {
      PushEntry(env, out, i, "momentum_buffer", static_cast<torch::optim::SGDParamState&>(s).momentum_buffer());
    } else if (box->kind == "adam" || box->kind == "adamw") {
      auto put = [&](auto& st) {
        PushEntry(env, out, i, "step", StepTensor(st.step()));
        PushEntry(env, out, i, "exp_avg", st.exp_avg());
        PushEntry(env, out, i, "exp_avg_sq", st.exp_avg_sq());
        PushEntry(env, out, i, "max_exp_avg_sq", st.max_exp_avg_sq());
      };
      if (box->kind == "adam") put(static_cast<torch::optim::AdamParamState&>(s));
      else put(static_cast<torch::optim::AdamWParamState&>(s));
    } else {
      auto& st = static_cast<torch::optim::RMSpropParamState&>(s);
      PushEntry(env, out, i, "step", StepTensor(st.step()));
      PushEntry(env, out, i, "square_avg", st.square_avg());
      PushEntry(env, out, i, "momentum_buffer", st.momentum_buffer());
      PushEntry(env, out, i, "grad_avg", st.grad_avg());
    }
  }
  return out;
}

// A state tensor for parameter `param`: same shape (steps are scalars), copied
// so the optimizer never aliases a caller's tensor.
at::Tensor StateTensor(Napi::Env env, const at::Tensor& value, const at::Tensor& param, size_t index, const std::string& name) {
  if (!value.sizes().equals(param.sizes())) {
    throw MakeTypeError(env, "optimizer state " + std::to_string(index) + "." + name + " has shape " +
                                 c10::str(value.sizes()) + " but the parameter has shape " + c10::str(param.sizes()));
  }
  return value.detach().to(param.options().requires_grad(false)).clone(at::MemoryFormat::Preserve);
}

int64_t StepOf(Napi::Env env, const at::Tensor& value, size_t index) {
  if (value.numel() != 1) throw MakeTypeError(env, "optimizer state " + std::to_string(index) + ".step must be a scalar");
  double step = value.item<double>();
  if (!(step >= 0) || std::floor(step) != step) {
    throw MakeTypeError(env, "optimizer state " + std::to_string(index) + ".step must be a non-negative integer");
  }
  return static_cast<int64_t>(step);
}

// optimizerSetState(handle, [[paramIndex, name, tensorHandle], ...]): replaces all state.
Napi::Value OptimizerSetState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OptimizerBox* box = UnwrapObject<OptimizerBox>(info[0], "optimizer");
  if (!info[1].IsArray()) throw MakeTypeError(env, "optimizer state must be an array of [index, name, tensor]");
  Napi::Array entries = info[1].As<Napi::Array>();
  std::vector<at::Tensor> params = AllParams(box);
  std::map<size_t, std::map<std::string, at::Tensor>> byParam;
  for (uint32_t e = 0; e < entries.Length(); ++e) {
    Napi::Value raw = entries.Get(e);
    if (!raw.IsArray() || raw.As<Napi::Array>().Length() != 3) throw MakeTypeError(env, "optimizer state entries are [index, name, tensor]");
    Napi::Array entry = raw.As<Napi::Array>();
    int64_t index = ToInt(entry.Get(0u), "state index");
    if (index < 0 || index >= static_cast<int64_t>(params.size())) {
      throw MakeTypeError(env, "optimizer state refers to parameter " + std::to_string(index) + " but the optimizer has " +
                                   std::to_string(params.size()));
    }
    byParam[static_cast<size_t>(index)][ToString(entry.Get(1u), "state name")] = UnwrapTensor(entry.Get(2u), "state tensor");
  }
  // Validate and build everything before touching the live state.
  ska::flat_hash_map<void*, std::unique_ptr<torch::optim::OptimizerParamState>> fresh;
  for (auto& [index, named] : byParam) {
    const at::Tensor& param = params[index];
    auto get = [&](const char* name, bool required) -> at::Tensor {
      auto it = named.find(name);
      if (it == named.end()) {
        if (required) throw MakeTypeError(env, "optimizer state " + std::to_string(index) + " is missing '" + name + "'");
        return at::Tensor();
      }
      return StateTensor(env, it->second, param, index, name);
    };
    auto stepOf = [&]() -> int64_t {
      auto it = named.find("step");
      if (it == named.end()) throw MakeTypeError(env, "optimizer state " + std::to_string(index) + " is missing 'step'");
      return StepOf(env, it->second, index);
    };
    std::unique_ptr<torch::optim::OptimizerParamState> state;
    if (box->kind == "sgd") {
      auto s = std::make_unique<torch::optim::SGDParamState>();
      s->momentum_buffer(get("momentum_buffer", true));
      state = std::move(s);
    } else if (box->kind == "adam" || box->kind == "adamw") {
      auto fill = [&](auto s) {
        s->step(stepOf());
        s->exp_avg(get("exp_avg", true));
        s->exp_avg_sq(get("exp_avg_sq", true));
        s->max_exp_avg_sq(get("max_exp_avg_sq", false));
        return s;
      };
      if (box->kind == "adam") state = fill(std::make_unique<torch::optim::AdamParamState>());
      else state = fill(std::make_unique<torch::optim::AdamWParamState>());
    } else {
      auto s = std::make_unique<torch::optim::RMSpropParamState>();
      s->step(stepOf());
      s->square_avg(get("square_avg", true));
      s->momentum_buffer(get("momentum_buffer", false));
      s->grad_avg(get("grad_avg", false));
      state = std::move(s);
    }
    fresh[param.unsafeGetTensorImpl()] = std::move(state);
  }
  box->optimizer->state() = std::move(fresh);
  return env.Undefined();
}

}  // namespace

void InitOptim(Napi::Env env, Napi::Object exports) {
  Export<CreateOptimizer>(env, exports, "createOptimizer");
  Export<OptimizerStep>(env, exports, "optimizerStep");
  Export<OptimizerZeroGrad>(env, exports, "optimizerZeroGrad");
  Export<OptimizerGroupCount>(env, exports, "optimizerGroupCount");
  Export<OptimizerGetOptions>(env, exports, "optimizerGetOptions");
  Export<OptimizerSetOptions>(env, exports, "optimizerSetOptions");
  Export<OptimizerGetState>(env, exports, "optimizerGetState");
  Export<OptimizerSetState>(env, exports, "optimizerSetState");
}

}  // namespace torchts
