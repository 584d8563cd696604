// Distributed collectives on PyTorch's own engine, c10d: a TCPStore for the
// rendezvous and ProcessGroupGloo for the collectives (CPU tensors; Gloo also
// serves CUDA tensors through host copies).
//
// c10d's Gloo backend is compiled into the torch wheel, but its header
// includes gloo's own headers, which the wheel does not ship; Debian's
// libgloo-dev provides them. The build defines TORCHTS_WITH_GLOO only when
// they are found, and without it this file exports a support query that says
// why distributed training is unavailable, so the addon always builds.
//
// The surface touched is kept to c10d's exported out-of-line functions and
// virtual calls (constructors, Backend's collectives, Work::wait, Store), so
// the system gloo headers only have to agree with the wheel on declarations.
#include "common.h"

#ifdef TORCHTS_WITH_GLOO
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

#include <chrono>
#include <sstream>

namespace torchts {

#ifdef TORCHTS_WITH_GLOO

struct DistGroup {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> backend;
  int rank = 0;
  int worldSize = 1;
  std::string address;  // host:port of the store, for messages
  std::chrono::milliseconds timeout{300000};
  std::string failure;  // set once a collective failed: the group is unusable
};

template <>
struct TypeTag<DistGroup> {
  static constexpr napi_type_tag tag = {0x7d10c3a95e2b4f61ULL, 0x9a8b7c6d5e4f3a21ULL};
  static constexpr const char* name = "ProcessGroup";
};

namespace {

std::string Seconds(std::chrono::milliseconds timeout) {
  std::ostringstream text;
  text << static_cast<double>(timeout.count()) / 1000.0 << " s";
  return text.str();
}

bool Contains(const std::string& text, const char* part) { return text.find(part) != std::string::npos; }

std::string FirstLine(const std::string& text) {
  size_t end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

// Gloo's messages start with its source location ("[.../pair.cc:553] ") and
// end with advice for its own developers; the sentence between is the news.
std::string WithoutGlooDecoration(std::string text) {
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find("] ");
    if (close != std::string::npos) text = text.substr(close + 2);
  }
  size_t advice = text.find(". This is typically");
  if (advice != std::string::npos) text = text.substr(0, advice);
  return text;
}

std::string WhatOf(const std::exception& error) {
  if (const auto* torchError = dynamic_cast<const c10::Error*>(&error)) {
    return WithoutGlooDecoration(FirstLine(torchError->what_without_backtrace()));
  }
  return WithoutGlooDecoration(FirstLine(error.what()));
}

DistGroup& LiveGroup(const Napi::Value& value) {
  DistGroup* group = UnwrapObject<DistGroup>(value, "process group");
  if (!group->backend) {
    throw MakeError(value.Env(), "the process group was destroyed (destroyProcessGroup)", "ERR_TORCHTS_DIST_DESTROYED");
  }
  if (!group->failure.empty()) {
    throw MakeError(value.Env(), "the process group is broken by an earlier failure: " + group->failure,
                    "ERR_TORCHTS_DIST_PEER");
  }
  return *group;
}

// Waits for a collective; a failure (a peer died, or stopped answering within
// the timeout) becomes a JS error naming the operation and this rank, and
// marks the group broken, since Gloo cannot recover a half-done collective.
void Await(Napi::Env env, DistGroup& group, const c10::intrusive_ptr<c10d::Work>& work, const char* operation) {
  try {
    work->wait();
  } catch (const std::exception& error) {
    std::string what = WhatOf(error);
    bool timedOut = Contains(what, "imed out") || Contains(what, "imeout");
    std::string message = std::string(operation) + " failed on rank " + std::to_string(group.rank) + " of " +
                          std::to_string(group.worldSize) + ": " +
                          (timedOut ? "a peer did not answer within " + Seconds(group.timeout)
                                    : std::string("a peer closed its connection (its process died or was stopped)")) +
                          " [gloo: " + what + "]";
    group.failure = message;
    throw MakeError(env, message, timedOut ? "ERR_TORCHTS_DIST_TIMEOUT" : "ERR_TORCHTS_DIST_PEER");
  }
}

c10d::ReduceOp ToReduceOp(Napi::Env env, const std::string& name) {
  if (name == "sum") return c10d::ReduceOp::SUM;
  if (name == "max") return c10d::ReduceOp::MAX;
  if (name == "min") return c10d::ReduceOp::MIN;
  if (name == "product") return c10d::ReduceOp::PRODUCT;
  throw MakeTypeError(env, "reduce op must be 'sum', 'max', 'min' or 'product', got '" + name + "'");
}

std::vector<at::Tensor> TensorList(const Napi::Value& value, const char* what) {
  if (!value.IsArray()) throw MakeTypeError(value.Env(), std::string(what) + " must be an array of Tensors");
  Napi::Array array = value.As<Napi::Array>();
  std::vector<at::Tensor> tensors;
  tensors.reserve(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) tensors.push_back(UnwrapTensor(array.Get(i), what));
  return tensors;
}

void RequireDense(Napi::Env env, const at::Tensor& tensor, const char* operation) {
  if (tensor.layout() != at::kStrided) throw MakeTypeError(env, std::string(operation) + " needs dense tensors");
}

// The store: rank 0 serves it, every rank (rank 0 too) is a client.
c10::intrusive_ptr<c10d::Store> ConnectStore(Napi::Env env, const std::string& host, int port, int rank, int worldSize,
                                             std::chrono::milliseconds timeout) {
  c10d::TCPStoreOptions options;
  options.port = static_cast<std::uint16_t>(port);
  options.isServer = rank == 0;
  options.numWorkers = static_cast<std::size_t>(worldSize);
  options.waitWorkers = false;  // joining is checked below, naming who is missing
  // c10d's client makes up to two connection attempts with a random pause
  // between them, each up to the store's timeout: a third of ours keeps
  // the whole wait for rank 0 within it. The store gets the full timeout
  // once connected.
  options.timeout = rank == 0 ? timeout : std::max(std::chrono::milliseconds(1), timeout / 3);
  std::string address = host + ":" + std::to_string(port);
  try {
    auto store = c10::make_intrusive<c10d::TCPStore>(host, options);
    store->setTimeout(timeout);
    return store;
  } catch (const std::exception& error) {
    std::string what = WhatOf(error);
    if (rank == 0 && (Contains(what, "EADDRINUSE") || Contains(what, "in use"))) {
      throw MakeError(env, "port " + std::to_string(port) + " is in use: rank 0 cannot serve the store on " + address +
                               " (another job, or one still shutting down, holds it); choose another MASTER_PORT / --master-port",
                      "ERR_TORCHTS_DIST_PORT");
    }
    if (rank == 0) {
      throw MakeError(env, "rank 0 cannot serve the store on " + address + ": " + what, "ERR_TORCHTS_DIST_STORE");
    }
    throw MakeError(env, "rank " + std::to_string(rank) + " could not reach rank 0's store at " + address + " within " +
                             Seconds(timeout) + ": is rank 0 running, and are MASTER_ADDR/MASTER_PORT right? [" + what + "]",
                    "ERR_TORCHTS_DIST_TIMEOUT");
  }
}

// Every rank announces itself and waits for the others, so a rank that never
// starts is named instead of surfacing as an anonymous Gloo timeout.
void AwaitAllRanks(Napi::Env env, c10d::Store& store, int rank, int worldSize, std::chrono::milliseconds timeout,
                   const std::string& address) {
  auto key = [](int r) { return "torchts/joined/" + std::to_string(r); };
  store.set(key(rank), std::vector<uint8_t>{1});
  std::vector<std::string> keys;
  for (int r = 0; r < worldSize; ++r) keys.push_back(key(r));
  try {
    store.wait(keys, timeout);
  } catch (const std::exception& error) {
    std::string missing;
    try {
      for (int r = 0; r < worldSize; ++r) {
        if (!store.check({key(r)})) missing += (missing.empty() ? "" : ", ") + std::to_string(r);
      }
    } catch (const std::exception&) {
      missing = "unknown (the store stopped answering)";
    }
    throw MakeError(env, "rank " + std::to_string(rank) + ": rank(s) " + missing + " did not join the process group within " +
                             Seconds(timeout) + " (world size " + std::to_string(worldSize) + ", store " + address + ")",
                    "ERR_TORCHTS_DIST_TIMEOUT");
  }
}

std::shared_ptr<::gloo::transport::Device> GlooDevice(const std::string& host, const std::string& interface) {
  if (!interface.empty()) return c10d::ProcessGroupGloo::createDeviceForInterface(interface);
  // On one host, bind to loopback: the machine's hostname may resolve to an
  // address the other ranks cannot reach.
  if (host == "127.0.0.1" || host == "localhost") return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

// distInit({ host, port, rank, worldSize, timeoutMs, interface, threads })
Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw MakeTypeError(env, "distInit expects an options object");
  Napi::Object options = info[0].As<Napi::Object>();
  std::string host = ToString(options.Get("host"), "host");
  int64_t port = ToInt(options.Get("port"), "port");
  int64_t rank = ToInt(options.Get("rank"), "rank");
  int64_t worldSize = ToInt(options.Get("worldSize"), "worldSize");
  int64_t timeoutMs = ToInt(options.Get("timeoutMs"), "timeoutMs");
  std::string interface = options.Get("interface").IsString() ? ToString(options.Get("interface"), "interface") : "";
  int64_t threads = options.Get("threads").IsUndefined() ? 2 : ToInt(options.Get("threads"), "threads");
  if (port < 1 || port > 65535) throw MakeRangeError(env, "port must be in 1..65535");
  if (worldSize < 1) throw MakeRangeError(env, "worldSize must be >= 1");
  if (rank < 0 || rank >= worldSize) throw MakeRangeError(env, "rank must be in 0..worldSize-1");
  if (timeoutMs < 1) throw MakeRangeError(env, "timeoutMs must be >= 1");
  if (threads < 1) throw MakeRangeError(env, "threads must be >= 1");

  auto group = std::make_unique<DistGroup>();
  group->rank = static_cast<int>(rank);
  group->worldSize = static_cast<int>(worldSize);
  group->timeout = std::chrono::milliseconds(timeoutMs);
  group->address = host + ":" + std::to_string(port);
  group->store = ConnectStore(env, host, static_cast<int>(port), group->rank, group->worldSize, group->timeout);
  AwaitAllRanks(env, *group->store, group->rank, group->worldSize, group->timeout, group->address);
  try {
    auto glooOptions = c10d::ProcessGroupGloo::Options::create(group->timeout);
    glooOptions->devices.push_back(GlooDevice(host, interface));
    glooOptions->threads = static_cast<int>(threads);
    auto prefixed = c10::make_intrusive<c10d::PrefixStore>("torchts/gloo", group->store);
    group->backend = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, group->rank, group->worldSize, glooOptions);
  } catch (const std::exception& error) {
    throw MakeError(env, "rank " + std::to_string(rank) + ": Gloo could not connect the " + std::to_string(worldSize) +
                             " ranks within " + Seconds(group->timeout) + ": " + WhatOf(error),
                    "ERR_TORCHTS_DIST_TIMEOUT");
  }
  return WrapObject(env, std::move(group));
}

Napi::Value Destroy(const Napi::CallbackInfo& info) {
  DistGroup* group = UnwrapObject<DistGroup>(info[0], "process group");
  group->backend.reset();
  group->store.reset();
  return info.Env().Undefined();
}

// distAllReduce(group, tensors, op): in place; all tensors are reduced
// concurrently (one Gloo work each) and awaited together.
Napi::Value AllReduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DistGroup& group = LiveGroup(info[0]);
  std::vector<at::Tensor> tensors = TensorList(info[1], "tensors");
  c10d::AllreduceOptions options;
  options.reduceOp = ToReduceOp(env, ToString(info[2], "op"));
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  for (const at::Tensor& tensor : tensors) {
    RequireDense(env, tensor, "allReduce");
    if (!tensor.is_contiguous()) throw MakeTypeError(env, "allReduce needs contiguous tensors");
    std::vector<at::Tensor> one{tensor};
    works.push_back(group.backend->allreduce(one, options));
  }
  for (const auto& work : works) Await(env, group, work, "allReduce");
  return env.Undefined();
}

// Tensors grouped by dtype and device, flattened into one buffer per group,
// so many small tensors cost one collective (c10d's broadcast_coalesced).
std::vector<std::vector<at::Tensor>> GroupByKind(const std::vector<at::Tensor>& tensors) {
  std::vector<std::vector<at::Tensor>> groups;
  for (const at::Tensor& tensor : tensors) {
    auto match = std::find_if(groups.begin(), groups.end(), [&](const std::vector<at::Tensor>& group) {
      return group.front().scalar_type() == tensor.scalar_type() && group.front().device() == tensor.device();
    });
    if (match == groups.end()) groups.push_back({tensor});
    else match->push_back(tensor);
  }
  return groups;
}

at::Tensor Flatten(const std::vector<at::Tensor>& tensors) {
  std::vector<at::Tensor> flat;
  flat.reserve(tensors.size());
  for (const at::Tensor& tensor : tensors) flat.push_back(tensor.reshape({-1}));
  return at::cat(flat);
}

void Unflatten(const at::Tensor& buffer, const std::vector<at::Tensor>& tensors) {
  int64_t offset = 0;
  for (const at::Tensor& tensor : tensors) {
    int64_t count = tensor.numel();
    tensor.copy_(buffer.narrow(0, offset, count).view(tensor.sizes()));
    offset += count;
  }
}

// distBroadcast(group, tensors, root): in place, coalesced by dtype/device.
Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DistGroup& group = LiveGroup(info[0]);
  std::vector<at::Tensor> tensors = TensorList(info[1], "tensors");
  int64_t root = ToInt(info[2], "root");
  if (root < 0 || root >= group.worldSize) throw MakeRangeError(env, "root must be a rank in 0..worldSize-1");
  at::NoGradGuard noGrad;  // parameters are overwritten in place
  c10d::BroadcastOptions options;
  options.rootRank = root;
  for (const auto& kind : GroupByKind(tensors)) {
    for (const at::Tensor& tensor : kind) RequireDense(env, tensor, "broadcast");
    std::vector<at::Tensor> buffer{Flatten(kind)};
    Await(env, group, group.backend->broadcast(buffer, options), "broadcast");
    Unflatten(buffer.front(), kind);
  }
  return env.Undefined();
}

// distAllGather(group, tensor) -> one tensor per rank.
Napi::Value AllGather(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DistGroup& group = LiveGroup(info[0]);
  at::Tensor input = UnwrapTensor(info[1], "tensor");
  RequireDense(env, input, "allGather");
  std::vector<at::Tensor> inputs{input.contiguous()};
  std::vector<std::vector<at::Tensor>> outputs(1);
  for (int r = 0; r < group.worldSize; ++r) outputs[0].push_back(at::empty_like(inputs[0]));
  Await(env, group, group.backend->allgather(outputs, inputs), "allGather");
  Napi::Array result = Napi::Array::New(env, outputs[0].size());
  for (size_t r = 0; r < outputs[0].size(); ++r) result.Set(r, WrapTensor(env, outputs[0][r]));
  return result;
}

Napi::Value Barrier(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DistGroup& group = LiveGroup(info[0]);
  Await(env, group, group.backend->barrier(), "barrier");
  return env.Undefined();
}

// distReduceGradients(group, params, bucketBytes): averages the gradients of
// `params` across ranks, as DDP's reducer does: buckets of up to bucketBytes
// filled in reverse parameter order (the order backward produces them),
// flattened, all-reduced concurrently, divided by the world size, copied
// back. A parameter without a gradient on this rank contributes zeros and
// receives the average, so every rank's buckets have the same layout.
// Returns the number of buckets.
Napi::Value ReduceGradients(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DistGroup& group = LiveGroup(info[0]);
  std::vector<at::Tensor> params = TensorList(info[1], "parameters");
  int64_t bucketBytes = ToInt(info[2], "bucketBytes");
  if (bucketBytes < 1) throw MakeRangeError(env, "bucketBytes must be >= 1");
  at::NoGradGuard noGrad;
  std::vector<at::Tensor> grads;
  grads.reserve(params.size());
  for (auto it = params.rbegin(); it != params.rend(); ++it) {
    at::Tensor& param = *it;
    if (!param.grad().defined()) param.mutable_grad() = at::zeros_like(param);
    RequireDense(env, param.grad(), "gradient all-reduce");
    grads.push_back(param.grad());
  }
  struct Bucket {
    std::vector<at::Tensor> grads;
    std::vector<at::Tensor> buffer;
    c10::intrusive_ptr<c10d::Work> work;
  };
  std::vector<Bucket> buckets;
  int64_t filled = 0;
  for (const at::Tensor& grad : grads) {
    int64_t bytes = grad.numel() * static_cast<int64_t>(grad.element_size());
    bool sameKind = !buckets.empty() && buckets.back().grads.front().scalar_type() == grad.scalar_type() &&
                    buckets.back().grads.front().device() == grad.device();
    if (buckets.empty() || !sameKind || filled + bytes > bucketBytes) {
      buckets.emplace_back();
      filled = 0;
    }
    buckets.back().grads.push_back(grad);
    filled += bytes;
  }
  c10d::AllreduceOptions options;
  options.reduceOp = c10d::ReduceOp::SUM;  // Gloo has no AVG: sum, then divide
  for (Bucket& bucket : buckets) {
    bucket.buffer = {Flatten(bucket.grads)};
    bucket.work = group.backend->allreduce(bucket.buffer, options);
  }
  for (Bucket& bucket : buckets) {
    Await(env, group, bucket.work, "gradient all-reduce");
    bucket.buffer.front().div_(group.worldSize);
    Unflatten(bucket.buffer.front(), bucket.grads);
  }
  return Napi::Number::New(env, static_cast<double>(buckets.size()));
}

// distStoreSet(group, key, value) / distStoreGet(group, key) -> string: small
// values shared through the rendezvous store (e.g. rank 0's run folder).
// Get waits for the key up to the group's timeout.
Napi::Value StoreSet(const Napi::CallbackInfo& info) {
  DistGroup& group = LiveGroup(info[0]);
  std::string key = ToString(info[1], "key");
  std::string value = ToString(info[2], "value");
  group.store->set("torchts/user/" + key, std::vector<uint8_t>(value.begin(), value.end()));
  return info.Env().Undefined();
}

Napi::Value StoreGet(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DistGroup& group = LiveGroup(info[0]);
  std::string key = ToString(info[1], "key");
  try {
    group.store->wait({"torchts/user/" + key}, group.timeout);
    std::vector<uint8_t> value = group.store->get("torchts/user/" + key);
    return Napi::String::New(env, std::string(value.begin(), value.end()));
  } catch (const std::exception& error) {
    throw MakeError(env, "rank " + std::to_string(group.rank) + ": store key '" + key + "' did not appear within " +
                             Seconds(group.timeout) + " [" + WhatOf(error) + "]",
                    "ERR_TORCHTS_DIST_TIMEOUT");
  }
}

Napi::Value Support(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  result.Set("available", Napi::Boolean::New(env, true));
  Napi::Array backends = Napi::Array::New(env, 1);
  backends.Set(0u, Napi::String::New(env, "gloo"));
  result.Set("backends", backends);
  return result;
}

}  // namespace

void InitDistributed(Napi::Env env, Napi::Object exports) {
  Export<Support>(env, exports, "distSupport");
  Export<Init>(env, exports, "distInit");
  Export<Destroy>(env, exports, "distDestroy");
  Export<AllReduce>(env, exports, "distAllReduce");
  Export<Broadcast>(env, exports, "distBroadcast");
  Export<AllGather>(env, exports, "distAllGather");
  Export<Barrier>(env, exports, "distBarrier");
  Export<ReduceGradients>(env, exports, "distReduceGradients");
  Export<StoreSet>(env, exports, "distStoreSet");
  Export<StoreGet>(env, exports, "distStoreGet");
}

#else  // !TORCHTS_WITH_GLOO

namespace {
Napi::Value Support(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  result.Set("available", Napi::Boolean::New(env, false));
  result.Set("backends", Napi::Array::New(env, 0));
  result.Set("reason", Napi::String::New(env,
                                         "this build of torchts has no distributed support: gloo's headers were not "
                                         "found when it was compiled (apt-get install libgloo-dev, then npm rebuild)"));
  return result;
}
}  // namespace

void InitDistributed(Napi::Env env, Napi::Object exports) { Export<Support>(env, exports, "distSupport"); }

#endif

}  // namespace torchts
