// Process-level controls: threads, CUDA queries, grad/inference/autocast
// modes, random generators, build information.
#include "common.h"

#include <ATen/autocast_mode.h>

#include <mutex>
#include <string>

#ifdef TORCHTS_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace torchts {

namespace {

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  int64_t threads = ToInt(info[0], "threads");
  if (threads < 1) throw MakeRangeError(info.Env(), "threads must be >= 1");
  at::set_num_threads(static_cast<int>(threads));
  return info.Env().Undefined();
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

Napi::Value SetNumInteropThreads(const Napi::CallbackInfo& info) {
  int64_t threads = ToInt(info[0], "threads");
  if (threads < 1) throw MakeRangeError(info.Env(), "threads must be >= 1");
  at::set_num_interop_threads(static_cast<int>(threads));
  return info.Env().Undefined();
}

Napi::Value CudaDeviceCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(torch::cuda::device_count()));
}

Napi::Value CudaSynchronize(const Napi::CallbackInfo& info) {
  if (torch::cuda::device_count() == 0) throw MakeError(info.Env(), "CUDA is not available", "ERR_TORCHTS_NO_CUDA");
  int64_t index = info[0].IsUndefined() ? -1 : ToInt(info[0], "device index");
  torch::cuda::synchronize(index);
  return info.Env().Undefined();
}

// CUDA caching-allocator statistics for one device (bytes).
Napi::Value CudaMemoryStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
#ifdef TORCHTS_WITH_CUDA
  if (torch::cuda::device_count() == 0) throw MakeError(env, "CUDA is not available", "ERR_TORCHTS_NO_CUDA");
  int64_t index = info[0].IsUndefined() ? c10::cuda::current_device() : ToInt(info[0], "device index");
  auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(index));
  constexpr size_t aggregate = static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE);
  Napi::Object result = Napi::Object::New(env);
  result.Set("allocated", Napi::Number::New(env, static_cast<double>(stats.allocated_bytes[aggregate].current)));
  result.Set("peakAllocated", Napi::Number::New(env, static_cast<double>(stats.allocated_bytes[aggregate].peak)));
  result.Set("reserved", Napi::Number::New(env, static_cast<double>(stats.reserved_bytes[aggregate].current)));
  result.Set("peakReserved", Napi::Number::New(env, static_cast<double>(stats.reserved_bytes[aggregate].peak)));
  return result;
#else
  throw MakeError(env, "this build of torchts has no CUDA support (it was compiled against a CPU libtorch)",
                  "ERR_TORCHTS_NO_CUDA");
#endif
}

Napi::Value CudaEmptyCache(const Napi::CallbackInfo& info) {
#ifdef TORCHTS_WITH_CUDA
  if (torch::cuda::device_count() > 0) c10::cuda::CUDACachingAllocator::emptyCache();
#endif
  return info.Env().Undefined();
}

Napi::Value CudaResetPeak(const Napi::CallbackInfo& info) {
#ifdef TORCHTS_WITH_CUDA
  if (torch::cuda::device_count() > 0) {
    int64_t index = info[0].IsUndefined() ? c10::cuda::current_device() : ToInt(info[0], "device index");
    c10::cuda::CUDACachingAllocator::resetPeakStats(static_cast<c10::DeviceIndex>(index));
  }
#endif
  return info.Env().Undefined();
}

Napi::Value SetGradEnabled(const Napi::CallbackInfo& info) {
  bool previous = at::GradMode::is_enabled();
  at::GradMode::set_enabled(ToBool(info[0], "enabled"));
  return Napi::Boolean::New(info.Env(), previous);
}

Napi::Value IsGradEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled());
}

// Inference mode is an RAII guard in C++; JS enters and leaves it in strict
// LIFO order (try/finally in lib/autograd.ts), so the guards live on a stack.
Napi::Value PushInferenceMode(const Napi::CallbackInfo& info) {
  Data(info.Env()).inferenceGuards.push_back(std::make_unique<c10::InferenceMode>(true));
  return info.Env().Undefined();
}

Napi::Value PopInferenceMode(const Napi::CallbackInfo& info) {
  auto& guards = Data(info.Env()).inferenceGuards;
  if (guards.empty()) throw MakeError(info.Env(), "inference mode stack is empty", "ERR_TORCHTS_STATE");
  guards.pop_back();
  return info.Env().Undefined();
}

Napi::Value IsInferenceMode(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), c10::InferenceMode::is_enabled());
}

c10::DeviceType AutocastDevice(const Napi::Value& value) {
  std::string type = ToString(value, "device type");
  if (type == "cuda") return c10::DeviceType::CUDA;
  if (type == "cpu") return c10::DeviceType::CPU;
  throw MakeTypeError(value.Env(), "autocast device type must be 'cpu' or 'cuda', got '" + type + "'");
}

// autocastEnter(deviceType, enabled, dtypeCode) -> [previousEnabled, previousDtype]
// Mirrors torch.autocast.__enter__.
Napi::Value AutocastEnter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  c10::DeviceType device = AutocastDevice(info[0]);
  bool enabled = ToBool(info[1], "enabled");
  c10::ScalarType dtype = ToScalarType(info[2], "dtype");
  Napi::Array previous = Napi::Array::New(env, 2);
  previous.Set(0u, Napi::Boolean::New(env, at::autocast::is_autocast_enabled(device)));
  previous.Set(1u, Napi::Number::New(env, static_cast<int>(at::autocast::get_autocast_dtype(device))));
  at::autocast::set_autocast_enabled(device, enabled);
  at::autocast::set_autocast_dtype(device, dtype);
  at::autocast::increment_nesting();
  return previous;
}

// autocastExit(deviceType, previousEnabled, previousDtype): torch.autocast.__exit__.
Napi::Value AutocastExit(const Napi::CallbackInfo& info) {
  c10::DeviceType device = AutocastDevice(info[0]);
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(device, ToBool(info[1], "previousEnabled"));
  at::autocast::set_autocast_dtype(device, ToScalarType(info[2], "previousDtype"));
  return info.Env().Undefined();
}

Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  int64_t seed = ToInt(info[0], "seed");
  at::manual_seed(static_cast<uint64_t>(seed));
  return info.Env().Undefined();
}

at::Generator GeneratorFor(const Napi::Value& device) {
  c10::Device parsed = device.IsUndefined() ? c10::Device(c10::kCPU) : ToDevice(device, "device");
  if (parsed.is_cuda() && torch::cuda::device_count() == 0) {
    throw MakeError(device.Env(), "CUDA is not available", "ERR_TORCHTS_NO_CUDA");
  }
  return at::globalContext().defaultGenerator(parsed);
}

// The default generator's state as a uint8 tensor (for checkpoints).
Napi::Value GetRngState(const Napi::CallbackInfo& info) {
  at::Generator generator = GeneratorFor(info[0]);
  std::lock_guard<std::mutex> lock(generator.mutex());
  return WrapTensor(info.Env(), generator.get_state());
}

Napi::Value SetRngState(const Napi::CallbackInfo& info) {
  at::Generator generator = GeneratorFor(info[1]);
  const at::Tensor& state = UnwrapTensor(info[0], "state");
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state);
  return info.Env().Undefined();
}

Napi::Value SetDeterministic(const Napi::CallbackInfo& info) {
  at::globalContext().setDeterministicAlgorithms(ToBool(info[0], "enabled"), false);
  return info.Env().Undefined();
}

Napi::Value SetCudnnBenchmark(const Napi::CallbackInfo& info) {
  at::globalContext().setBenchmarkCuDNN(ToBool(info[0], "enabled"));
  return info.Env().Undefined();
}

Napi::Value SetFloat32MatmulPrecision(const Napi::CallbackInfo& info) {
  at::globalContext().setFloat32MatmulPrecision(ToString(info[0], "precision"));
  return info.Env().Undefined();
}

// Flush-to-zero for denormal floats on the CPU; false if unsupported.
Napi::Value SetFlushDenormal(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), at::globalContext().setFlushDenormal(ToBool(info[0], "enabled")));
}

// Frees the CPU allocator's idle blocks and trims the C heap.
Napi::Value TrimMemory(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), ReleaseCpuMemory() > 0);
}

Napi::Value CpuAllocatorStatsValue(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const CpuCacheStats stats = CpuAllocatorStats();
  Napi::Object result = Napi::Object::New(env);
  result.Set("liveBytes", Napi::Number::New(env, static_cast<double>(stats.liveBytes)));
  result.Set("idleBytes", Napi::Number::New(env, static_cast<double>(stats.idleBytes)));
  result.Set("idleLimit", Napi::Number::New(env, static_cast<double>(stats.idleLimit)));
  result.Set("hits", Napi::Number::New(env, static_cast<double>(stats.hits)));
  result.Set("misses", Napi::Number::New(env, static_cast<double>(stats.misses)));
  return result;
}

Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  result.Set("torch", Napi::String::New(env, TORCH_VERSION));
#ifdef TORCHTS_WITH_CUDA
  result.Set("cudaCompiled", Napi::Boolean::New(env, true));
#else
  result.Set("cudaCompiled", Napi::Boolean::New(env, false));
#endif
  result.Set("mkldnn", Napi::Boolean::New(env, at::hasMKLDNN()));
  result.Set("openmp", Napi::Boolean::New(env, at::hasOpenMP()));
  result.Set("parallel", Napi::String::New(env, at::get_parallel_info()));
  result.Set("config", Napi::String::New(env, at::show_config()));
  result.Set("cpuAllocatorCaching", Napi::Boolean::New(env, CpuAllocatorCaching()));
  result.Set("cpuAllocator", Napi::String::New(env, CpuAllocatorNote()));
  return result;
}

}  // namespace

void InitRuntime(Napi::Env env, Napi::Object exports) {
  Export<SetNumThreads>(env, exports, "setNumThreads");
  Export<GetNumThreads>(env, exports, "getNumThreads");
  Export<SetNumInteropThreads>(env, exports, "setNumInteropThreads");
  Export<CudaDeviceCount>(env, exports, "cudaDeviceCount");
  Export<CudaSynchronize>(env, exports, "cudaSynchronize");
  Export<CudaMemoryStats>(env, exports, "cudaMemoryStats");
  Export<CudaEmptyCache>(env, exports, "cudaEmptyCache");
  Export<TrimMemory>(env, exports, "trimMemory");
  Export<CpuAllocatorStatsValue>(env, exports, "cpuAllocatorStats");
  Export<CudaResetPeak>(env, exports, "cudaResetPeakStats");
  Export<SetGradEnabled>(env, exports, "setGradEnabled");
  Export<IsGradEnabled>(env, exports, "isGradEnabled");
  Export<PushInferenceMode>(env, exports, "pushInferenceMode");
  Export<PopInferenceMode>(env, exports, "popInferenceMode");
  Export<IsInferenceMode>(env, exports, "isInferenceMode");
  Export<AutocastEnter>(env, exports, "autocastEnter");
  Export<AutocastExit>(env, exports, "autocastExit");
  Export<ManualSeed>(env, exports, "manualSeed");
  Export<GetRngState>(env, exports, "getRngState");
  Export<SetRngState>(env, exports, "setRngState");
  Export<SetDeterministic>(env, exports, "setDeterministic");
  Export<SetCudnnBenchmark>(env, exports, "setCudnnBenchmark");
  Export<SetFloat32MatmulPrecision>(env, exports, "setFloat32MatmulPrecision");
  Export<SetFlushDenormal>(env, exports, "setFlushDenormal");
  Export<BuildInfo>(env, exports, "buildInfo");
}

}  // namespace torchts
