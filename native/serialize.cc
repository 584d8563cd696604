// PyTorch .pt/.pth state dicts, both ways.
//
// Writing uses libtorch's Pickler with tag_aggregates=false plus
// writeArchiveAndTensors: plain `torch.load(path)` (weights_only=True) reads
// the result. (torch::pickle_save tags containers with restore_type_tag,
// which weights_only refuses.)
//
// Reading cannot use libtorch's Unpickler: it hard-codes
// collections.OrderedDict to None (it only expects one in a tensor's
// backward hooks) before any type resolver is consulted, and treats BUILD as
// REDUCE, so `torch.save(model.state_dict())` -- an OrderedDict carrying
// `_metadata` through BUILD -- fails with "Expected GenericDict but got None"
// (measured with libtorch 2.13). So the pickle program is interpreted here,
// with a strict whitelist of the globals torch.save emits for tensors and
// dicts; the zip container is still read by libtorch's PyTorchStreamReader,
// and tensors are built on libtorch storages. Every read is bounds-checked:
// a corrupt or hostile file is an error, never a crash.
#include "common.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/csrc/jit/serialization/pickler.h>

namespace torchts {

namespace {

class PtError : public std::runtime_error {
 public:
  explicit PtError(const std::string& message) : std::runtime_error(message) {}
};

struct PyValue;
using PyRef = std::shared_ptr<PyValue>;

// A value of the pickle machine. Containers are shared (memo aliases them).
struct PyValue {
  enum class Kind { None, Bool, Int, Float, String, Bytes, Tensor, List, Tuple, Dict, Global, Storage, Mark };
  Kind kind = Kind::None;
  bool boolean = false;
  int64_t integer = 0;
  double real = 0;
  std::string text;  // String/Bytes payload; "module.name" for a Global
  at::Tensor tensor;
  at::Storage storage;
  c10::ScalarType dtype = c10::ScalarType::Undefined;
  std::vector<PyRef> items;                       // List, Tuple
  std::vector<std::pair<PyRef, PyRef>> entries;   // Dict, in insertion order
  PyRef state;                                    // Dict: BUILD's state (an OrderedDict's `_metadata`)
  int depth = 0;                                  // containers nested inside, at most kMaxDepth
};

// A state dict nests three or four levels; anything much deeper is hostile
// (and would make recursive teardown or conversion overflow the stack).
constexpr int kMaxDepth = 64;

const char* KindName(PyValue::Kind kind) {
  switch (kind) {
    case PyValue::Kind::None: return "None";
    case PyValue::Kind::Bool: return "bool";
    case PyValue::Kind::Int: return "int";
    case PyValue::Kind::Float: return "float";
    case PyValue::Kind::String: return "str";
    case PyValue::Kind::Bytes: return "bytes";
    case PyValue::Kind::Tensor: return "Tensor";
    case PyValue::Kind::List: return "list";
    case PyValue::Kind::Tuple: return "tuple";
    case PyValue::Kind::Dict: return "dict";
    case PyValue::Kind::Global: return "global";
    case PyValue::Kind::Storage: return "storage";
    case PyValue::Kind::Mark: return "mark";
  }
  return "?";
}

const std::map<std::string, c10::ScalarType>& StorageTypes() {
  static const std::map<std::string, c10::ScalarType> types = {
      {"torch.FloatStorage", c10::kFloat},   {"torch.DoubleStorage", c10::kDouble}, {"torch.HalfStorage", c10::kHalf},
      {"torch.BFloat16Storage", c10::kBFloat16}, {"torch.LongStorage", c10::kLong}, {"torch.IntStorage", c10::kInt},
      {"torch.ShortStorage", c10::kShort},   {"torch.CharStorage", c10::kChar},     {"torch.ByteStorage", c10::kByte},
      {"torch.BoolStorage", c10::kBool},
  };
  return types;
}

class StateDictUnpickler {
 public:
  using StorageLoader = std::function<at::Storage(const std::string& key, c10::ScalarType dtype, int64_t numel)>;

  StateDictUnpickler(const char* data, size_t size, StorageLoader loader)
      : data_(data), size_(size), loader_(std::move(loader)) {}

  // Values can share children (memo) and even contain themselves (APPEND of
  // a list to itself); emptying every container first frees them all
  // without recursion and without leaking cycles.
  ~StateDictUnpickler() {
    for (const PyRef& value : arena_) {
      value->items.clear();
      value->entries.clear();
      value->state.reset();
    }
  }

  PyRef Run() {
    while (true) {
      uint8_t opcode = Byte();
      if (opcode == '.') break;  // STOP
      Step(opcode);
      if (stack_.size() > kMaxStack) throw PtError("pickle stack grows without bound");
    }
    if (stack_.size() != 1) throw PtError("pickle ended with " + std::to_string(stack_.size()) + " values on the stack");
    return stack_.back();
  }

 private:
  static constexpr size_t kMaxStack = 1 << 22;

  // ---- reading ----
  void Need(size_t n) {
    if (n > size_ - pos_) throw PtError("pickle data ends early (truncated file?)");
  }
  uint8_t Byte() {
    Need(1);
    return static_cast<uint8_t>(data_[pos_++]);
  }
  uint64_t Unsigned(size_t n) {
    Need(n);
    uint64_t value = 0;
    for (size_t i = 0; i < n; ++i) value |= static_cast<uint64_t>(static_cast<uint8_t>(data_[pos_ + i])) << (8 * i);
    pos_ += n;
    return value;
  }
  std::string Bytes(uint64_t n) {
    if (n > size_ - pos_) throw PtError("pickle string runs past the end of the data");
    std::string out(data_ + pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return out;
  }
  std::string Line() {
    size_t end = pos_;
    while (end < size_ && data_[end] != '\n') ++end;
    if (end >= size_) throw PtError("pickle GLOBAL name is not terminated");
    std::string out(data_ + pos_, end - pos_);
    pos_ = end + 1;
    return out;
  }

  PyRef New(PyValue::Kind kind) {
    auto value = std::make_shared<PyValue>();
    value->kind = kind;
    arena_.push_back(value);
    return value;
  }

  // Records that `container` now holds `item`, refusing excessive nesting.
  static void Nest(const PyRef& container, const PyRef& item) {
    container->depth = std::max(container->depth, item->depth + 1);
    if (container->depth > kMaxDepth) throw PtError("pickle nests containers deeper than " + std::to_string(kMaxDepth) + " levels");
  }

  // ---- stack ----
  PyRef Pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) throw PtError("pickle stack underflow");
    PyRef value = stack_.back();
    stack_.pop_back();
    return value;
  }
  PyRef& Top() {
    if (stack_.empty()) throw PtError("pickle stack underflow");
    return stack_.back();
  }
  std::vector<PyRef> PopToMark() {
    if (marks_.empty()) throw PtError("pickle MARK missing");
    size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<PyRef> items(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
    stack_.resize(mark);
    return items;
  }
  void Push(PyRef value) { stack_.push_back(std::move(value)); }
  void PushInt(int64_t value) {
    PyRef v = New(PyValue::Kind::Int);
    v->integer = value;
    Push(v);
  }
  void PushString(std::string text, PyValue::Kind kind = PyValue::Kind::String) {
    PyRef v = New(kind);
    v->text = std::move(text);
    Push(v);
  }
  void Memoize(uint64_t key) {
    if (memo_.size() > size_) throw PtError("pickle memo is larger than the data");
    memo_[key] = Top();
  }
  void Recall(uint64_t key) {
    auto found = memo_.find(key);
    if (found == memo_.end()) throw PtError("pickle refers to memo entry " + std::to_string(key) + " that was never stored");
    Push(found->second);
  }
  PyRef Tuple(std::vector<PyRef> items) {
    PyRef t = New(PyValue::Kind::Tuple);
    for (const PyRef& item : items) Nest(t, item);
    t->items = std::move(items);
    return t;
  }
  static PyRef& Dict(PyRef& value, const char* op) {
    if (value->kind != PyValue::Kind::Dict) throw PtError(std::string(op) + " on a " + KindName(value->kind) + ", not a dict");
    return value;
  }

  void Step(uint8_t opcode) {
    switch (opcode) {
      case 0x80: Byte(); break;              // PROTO
      case 0x95: Unsigned(8); break;         // FRAME (protocol 4): framing only
      case '(': marks_.push_back(stack_.size()); break;  // MARK
      case '}': Push(New(PyValue::Kind::Dict)); break;  // EMPTY_DICT
      case ']': Push(New(PyValue::Kind::List)); break;  // EMPTY_LIST
      case ')': Push(Tuple({})); break;                  // EMPTY_TUPLE
      case 'N': Push(New(PyValue::Kind::None)); break;
      case 0x88:
      case 0x89: {  // NEWTRUE / NEWFALSE
        PyRef v = New(PyValue::Kind::Bool);
        v->boolean = opcode == 0x88;
        Push(v);
      } break;
      case 'K': PushInt(static_cast<int64_t>(Unsigned(1))); break;                       // BININT1
      case 'M': PushInt(static_cast<int64_t>(Unsigned(2))); break;                       // BININT2
      case 'J': PushInt(static_cast<int32_t>(static_cast<uint32_t>(Unsigned(4)))); break;  // BININT
      case 0x8a: {  // LONG1: little-endian two's complement of n bytes
        uint64_t n = Unsigned(1);
        if (n > 8) throw PtError("pickle integer wider than 64 bits");
        uint64_t raw = Unsigned(static_cast<size_t>(n));
        if (n > 0 && n < 8 && (raw >> (8 * n - 1)) & 1) raw |= ~uint64_t{0} << (8 * n);
        PushInt(static_cast<int64_t>(raw));
      } break;
      case 'G': {  // BINFLOAT: big-endian double
        Need(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | static_cast<uint8_t>(data_[pos_ + i]);
        pos_ += 8;
        PyRef v = New(PyValue::Kind::Float);
        std::memcpy(&v->real, &bits, sizeof(bits));
        Push(v);
      } break;
      case 'X': PushString(Bytes(Unsigned(4))); break;     // BINUNICODE
      case 0x8c: PushString(Bytes(Unsigned(1))); break;    // SHORT_BINUNICODE
      case 0x8d: PushString(Bytes(Unsigned(8))); break;    // BINUNICODE8
      case 'T': PushString(Bytes(Unsigned(4))); break;     // BINSTRING
      case 'U': PushString(Bytes(Unsigned(1))); break;     // SHORT_BINSTRING
      case 'B': PushString(Bytes(Unsigned(4)), PyValue::Kind::Bytes); break;   // BINBYTES
      case 'C': PushString(Bytes(Unsigned(1)), PyValue::Kind::Bytes); break;   // SHORT_BINBYTES
      case 'q': Memoize(Unsigned(1)); break;               // BINPUT
      case 'r': Memoize(Unsigned(4)); break;               // LONG_BINPUT
      case 0x94: Memoize(memo_.size()); break;             // MEMOIZE
      case 'h': Recall(Unsigned(1)); break;                // BINGET
      case 'j': Recall(Unsigned(4)); break;                // LONG_BINGET
      case '0': Pop(); break;                              // POP
      case '2': Push(Top()); break;                        // DUP
      case '1': PopToMark(); break;                        // POP_MARK
      case 't': Push(Tuple(PopToMark())); break;           // TUPLE
      case 0x85: Push(Tuple({Pop()})); break;              // TUPLE1
      case 0x86: {                                         // TUPLE2
        PyRef b = Pop();
        PyRef a = Pop();
        Push(Tuple({a, b}));
      } break;
      case 0x87: {  // TUPLE3
        PyRef c = Pop();
        PyRef b = Pop();
        PyRef a = Pop();
        Push(Tuple({a, b, c}));
      } break;
      case 'l': {  // LIST
        PyRef list = New(PyValue::Kind::List);
        list->items = PopToMark();
        for (const PyRef& item : list->items) Nest(list, item);
        Push(list);
      } break;
      case 'a': {  // APPEND
        PyRef item = Pop();
        PyRef& list = Top();
        if (list->kind != PyValue::Kind::List) throw PtError("APPEND to a non-list");
        Nest(list, item);
        list->items.push_back(item);
      } break;
      case 'e': {  // APPENDS
        std::vector<PyRef> items = PopToMark();
        PyRef& list = Top();
        if (list->kind != PyValue::Kind::List) throw PtError("APPENDS to a non-list");
        for (const PyRef& item : items) Nest(list, item);
        list->items.insert(list->items.end(), items.begin(), items.end());
      } break;
      case 'd': {  // DICT
        std::vector<PyRef> items = PopToMark();
        if (items.size() % 2 != 0) throw PtError("DICT with an odd number of items");
        PyRef dict = New(PyValue::Kind::Dict);
        for (size_t i = 0; i < items.size(); i += 2) {
          Nest(dict, items[i]);
          Nest(dict, items[i + 1]);
          dict->entries.emplace_back(items[i], items[i + 1]);
        }
        Push(dict);
      } break;
      case 's': {  // SETITEM
        PyRef value = Pop();
        PyRef key = Pop();
        PyRef& dict = Dict(Top(), "SETITEM");
        Nest(dict, key);
        Nest(dict, value);
        dict->entries.emplace_back(key, value);
      } break;
      case 'u': {  // SETITEMS
        std::vector<PyRef> items = PopToMark();
        if (items.size() % 2 != 0) throw PtError("SETITEMS with an odd number of items");
        PyRef& dict = Dict(Top(), "SETITEMS");
        for (size_t i = 0; i < items.size(); i += 2) {
          Nest(dict, items[i]);
          Nest(dict, items[i + 1]);
          dict->entries.emplace_back(items[i], items[i + 1]);
        }
      } break;
      case 'c': {  // GLOBAL
        std::string module = Line();
        std::string name = Line();
        PushString(module + "." + name, PyValue::Kind::Global);
      } break;
      case 0x93: {  // STACK_GLOBAL
        PyRef name = Pop();
        PyRef module = Pop();
        if (module->kind != PyValue::Kind::String || name->kind != PyValue::Kind::String) throw PtError("STACK_GLOBAL needs two strings");
        PushString(module->text + "." + name->text, PyValue::Kind::Global);
      } break;
      case 'R':     // REDUCE
      case 0x81: {  // NEWOBJ
        PyRef args = Pop();
        PyRef callable = Pop();
        Push(Call(callable, args, opcode == 0x81));
      } break;
      case 'b': {  // BUILD: object state. OrderedDict carries `_metadata` (format versions) here.
        PyRef state = Pop();
        PyRef& target = Top();
        if (target->kind != PyValue::Kind::Dict && target->kind != PyValue::Kind::Tensor) {
          throw PtError(std::string("BUILD on a ") + KindName(target->kind) + " is not supported");
        }
        if (target->kind == PyValue::Kind::Dict && state->kind == PyValue::Kind::Dict) {
          Nest(target, state);
          target->state = state;
        }
      } break;
      case 'Q': Push(PersistentLoad(Pop())); break;  // BINPERSID
      default: {
        char hex[8];
        std::snprintf(hex, sizeof(hex), "0x%02x", opcode);
        throw PtError(std::string("unsupported pickle opcode ") + hex + " at byte " + std::to_string(pos_ - 1));
      }
    }
  }

  static const PyRef& Arg(const PyRef& args, size_t index, PyValue::Kind kind, const char* what) {
    if (args->kind != PyValue::Kind::Tuple || index >= args->items.size()) throw PtError(std::string(what) + ": missing argument");
    const PyRef& value = args->items[index];
    if (value->kind != kind) {
      throw PtError(std::string(what) + ": argument " + std::to_string(index) + " is a " + KindName(value->kind) + ", expected " +
                    KindName(kind));
    }
    return value;
  }

  static std::vector<int64_t> IntTuple(const PyRef& value, const char* what) {
    if (value->kind != PyValue::Kind::Tuple && value->kind != PyValue::Kind::List) throw PtError(std::string(what) + " must be a tuple");
    std::vector<int64_t> out;
    for (const PyRef& item : value->items) {
      if (item->kind != PyValue::Kind::Int) throw PtError(std::string(what) + " must hold integers");
      out.push_back(item->integer);
    }
    return out;
  }

  PyRef Call(const PyRef& callable, const PyRef& args, bool constructsObject) {
    if (callable->kind != PyValue::Kind::Global) throw PtError(std::string("cannot call a ") + KindName(callable->kind));
    const std::string& name = callable->text;
    if (name == "collections.OrderedDict") {
      if (args->kind == PyValue::Kind::Tuple && !args->items.empty()) throw PtError("OrderedDict with constructor arguments is not supported");
      return New(PyValue::Kind::Dict);
    }
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
      const PyRef& storage = Arg(args, 0, PyValue::Kind::Storage, "tensor");
      int64_t offset = Arg(args, 1, PyValue::Kind::Int, "tensor")->integer;
      std::vector<int64_t> sizes = IntTuple(Arg(args, 2, PyValue::Kind::Tuple, "tensor"), "tensor size");
      std::vector<int64_t> strides = IntTuple(Arg(args, 3, PyValue::Kind::Tuple, "tensor"), "tensor stride");
      PyRef result = New(PyValue::Kind::Tensor);
      result->tensor = BuildTensor(storage, offset, sizes, strides);
      if (name == "torch._utils._rebuild_tensor_v2" && args->items.size() > 4 && args->items[4]->kind == PyValue::Kind::Bool &&
          args->items[4]->boolean) {
        result->tensor.set_requires_grad(true);
      }
      return result;
    }
    if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
      PyRef result = New(PyValue::Kind::Tensor);
      result->tensor = Arg(args, 0, PyValue::Kind::Tensor, "parameter")->tensor;
      return result;
    }
    if (name == "torch.device") {
      PyRef result = New(PyValue::Kind::String);
      result->text = Arg(args, 0, PyValue::Kind::String, "torch.device")->text;
      return result;
    }
    // A whole pickled model is a class instance (NEWOBJ) whose state holds its
    // submodules; torch.nn classes may also be built through REDUCE.
    if (constructsObject || name.rfind("torch.nn.modules.", 0) == 0) {
      throw PtError("holds a pickled Python object (" + name +
                    "), e.g. a whole model saved with torch.save(model, path); torchts reads state dicts: in Python, "
                    "save torch.save(model.state_dict(), path) instead");
    }
    throw PtError("unsupported Python object " + name +
                  " in the pickle: torchts reads dicts of tensors (what torch.save(model.state_dict(), path) writes)");
  }

  PyRef PersistentLoad(const PyRef& pid) {
    if (pid->kind != PyValue::Kind::Tuple || pid->items.size() < 5) throw PtError("unsupported persistent id (expected a storage tuple)");
    const auto& items = pid->items;
    if (items[0]->kind != PyValue::Kind::String || items[0]->text != "storage") throw PtError("unsupported persistent id kind");
    if (items[1]->kind != PyValue::Kind::Global) throw PtError("storage type must be a global");
    auto type = StorageTypes().find(items[1]->text);
    if (type == StorageTypes().end()) throw PtError("unsupported storage type " + items[1]->text);
    if (items[2]->kind != PyValue::Kind::String || items[4]->kind != PyValue::Kind::Int) throw PtError("malformed storage reference");
    const std::string& key = items[2]->text;
    int64_t numel = items[4]->integer;
    if (numel < 0) throw PtError("storage with a negative size");
    auto cached = storages_.find(key);
    PyRef result = New(PyValue::Kind::Storage);
    result->dtype = type->second;
    if (cached != storages_.end()) {
      result->storage = cached->second;
    } else {
      result->storage = loader_(key, type->second, numel);
      storages_[key] = result->storage;
    }
    return result;
  }

  static at::Tensor BuildTensor(const PyRef& storage, int64_t offset, const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides) {
    if (sizes.size() != strides.size()) throw PtError("tensor size and stride have different lengths");
    if (offset < 0) throw PtError("tensor with a negative storage offset");
    int64_t itemsize = static_cast<int64_t>(c10::elementSize(storage->dtype));
    int64_t capacity = static_cast<int64_t>(storage->storage.nbytes()) / itemsize;
    bool empty = false;
    int64_t last = offset;
    for (size_t i = 0; i < sizes.size(); ++i) {
      if (sizes[i] < 0 || strides[i] < 0) throw PtError("tensor with a negative size or stride");
      if (sizes[i] == 0) empty = true;
      if (sizes[i] > 0 && strides[i] > 0 && (sizes[i] - 1) > (std::numeric_limits<int64_t>::max() - last) / strides[i]) {
        throw PtError("tensor extent overflows");
      }
      if (sizes[i] > 0) last += (sizes[i] - 1) * strides[i];
    }
    if (!empty && last >= capacity) throw PtError("tensor reaches past the end of its storage (corrupt file)");
    at::Tensor tensor = at::empty({0}, at::TensorOptions().dtype(storage->dtype));
    tensor.set_(storage->storage, offset, sizes, strides);
    return tensor;
  }

  const char* data_;
  size_t size_;
  size_t pos_ = 0;
  StorageLoader loader_;
  std::vector<PyRef> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PyRef> memo_;
  std::unordered_map<std::string, at::Storage> storages_;
  std::vector<PyRef> arena_;
};

// Shared values (memo) are converted once per reference: a pickle such as
// x = (x, x) repeated 40 times is tiny but expands to 2^40 values. The
// budget stops that long before memory runs out.
Napi::Value ToJs(Napi::Env env, const PyRef& value, int depth, size_t& budget) {
  if (depth > kMaxDepth) throw PtError("pickle nests deeper than " + std::to_string(kMaxDepth) + " levels");
  if (budget == 0) throw PtError("pickle expands to too many values (shared references); not a state dict");
  budget -= 1;
  Napi::Object out = Napi::Object::New(env);
  switch (value->kind) {
    case PyValue::Kind::None: return env.Null();
    case PyValue::Kind::Bool: return Napi::Boolean::New(env, value->boolean);
    case PyValue::Kind::Int: return Napi::Number::New(env, static_cast<double>(value->integer));
    case PyValue::Kind::Float: return Napi::Number::New(env, value->real);
    case PyValue::Kind::String: return Napi::String::New(env, value->text);
    case PyValue::Kind::Tensor:
      out.Set("kind", "tensor");
      out.Set("handle", WrapTensor(env, value->tensor));
      return out;
    case PyValue::Kind::List:
    case PyValue::Kind::Tuple: {
      out.Set("kind", value->kind == PyValue::Kind::List ? "list" : "tuple");
      Napi::Array items = Napi::Array::New(env, value->items.size());
      for (size_t i = 0; i < value->items.size(); ++i) items.Set(i, ToJs(env, value->items[i], depth + 1, budget));
      out.Set("items", items);
      return out;
    }
    case PyValue::Kind::Dict: {
      out.Set("kind", "dict");
      Napi::Array entries = Napi::Array::New(env, value->entries.size());
      for (size_t i = 0; i < value->entries.size(); ++i) {
        Napi::Array pair = Napi::Array::New(env, 2);
        pair.Set(0u, ToJs(env, value->entries[i].first, depth + 1, budget));
        pair.Set(1u, ToJs(env, value->entries[i].second, depth + 1, budget));
        entries.Set(i, pair);
      }
      out.Set("entries", entries);
      if (value->state) out.Set("attributes", ToJs(env, value->state, depth + 1, budget));
      return out;
    }
    default:
      out.Set("kind", KindName(value->kind));
      return out;
  }
}

// loadPt(path) -> the pickled value as {kind:'dict'|'list'|'tuple'|'tensor', ...}
// trees of plain JS values; tensors are CPU tensor handles.
Napi::Value LoadPt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ToString(info[0], "path");
  try {
    caffe2::serialize::PyTorchStreamReader reader(path);
    if (!reader.hasRecord("data.pkl")) throw PtError("no data.pkl record: not a torch.save checkpoint");
    if (reader.hasRecord("byteorder")) {
      auto [bytes, size] = reader.getRecord("byteorder");
      std::string order(static_cast<const char*>(bytes.get()), size);
      if (order != "little") throw PtError("saved with byte order '" + order + "'; only little-endian files are supported");
    }
    auto [pickle, pickleSize] = reader.getRecord("data.pkl");
    StateDictUnpickler unpickler(static_cast<const char*>(pickle.get()), pickleSize,
                                 [&reader](const std::string& key, c10::ScalarType dtype, int64_t numel) {
                                   std::string record = "data/" + key;
                                   if (!reader.hasRecord(record)) throw PtError("missing tensor data record " + record);
                                   size_t needed = static_cast<size_t>(numel) * c10::elementSize(dtype);
                                   if (reader.getRecordSize(record) < needed) throw PtError("tensor data record " + record + " is truncated");
                                   auto [data, size] = reader.getRecord(record);
                                   return c10::Storage(c10::Storage::use_byte_size_t(), needed, std::move(data), nullptr, false);
                                 });
    size_t budget = std::max<size_t>(1'000'000, 16 * pickleSize);
    return ToJs(env, unpickler.Run(), 0, budget);
  } catch (const PtError& error) {
    throw MakeError(env, path + ": " + error.what(), "ERR_TORCHTS_PT");
  } catch (const c10::Error& error) {
    std::string message = error.what_without_backtrace();
    message = message.substr(0, message.find('\n'));
    if (message.find("zip archive") != std::string::npos || message.find("central directory") != std::string::npos) {
      message = "not a PyTorch zip checkpoint (" + message + "); files from torch < 1.6 must be re-saved with a newer torch.save";
    }
    throw MakeError(env, path + ": " + message, "ERR_TORCHTS_PT");
  } catch (const std::out_of_range& error) {
    throw MakeError(env, path + ": corrupt checkpoint (" + std::string(error.what()) + ")", "ERR_TORCHTS_PT");
  }
}

// savePt(path, names[], tensors[]): a zip that plain torch.load reads.
Napi::Value SavePt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ToString(info[0], "path");
  if (!info[1].IsArray() || !info[2].IsArray()) throw MakeTypeError(env, "savePt needs names and tensors arrays");
  Napi::Array names = info[1].As<Napi::Array>();
  Napi::Array tensors = info[2].As<Napi::Array>();
  if (names.Length() != tensors.Length()) throw MakeTypeError(env, "savePt: names and tensors differ in length");
  c10::Dict<std::string, at::Tensor> dict;
  for (uint32_t i = 0; i < names.Length(); ++i) {
    at::Tensor tensor = UnwrapTensor(tensors.Get(i), "tensor").detach().to(at::kCPU).contiguous();
    // A view would drag its whole base storage into the file.
    if (tensor.storage_offset() != 0 || tensor.storage().nbytes() != static_cast<size_t>(tensor.numel()) * tensor.element_size()) {
      tensor = tensor.clone();
    }
    dict.insert(ToString(names.Get(i), "name"), tensor);
  }
  std::vector<char> bytes;
  torch::jit::Pickler pickler([&bytes](const char* data, size_t size) { bytes.insert(bytes.end(), data, data + size); }, nullptr,
                              nullptr, nullptr, nullptr, /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(dict);
  pickler.stop();
  caffe2::serialize::PyTorchStreamWriter writer(path);
  torch::jit::writeArchiveAndTensors("data", bytes.data(), bytes.size(), pickler.tensorData(), writer);
  writer.writeRecord("byteorder", "little", 6);
  writer.writeEndOfFile();
  return env.Undefined();
}

}  // namespace

void InitSerialize(Napi::Env env, Napi::Object exports) {
  Export<LoadPt>(env, exports, "loadPt");
  Export<SavePt>(env, exports, "savePt");
}

}  // namespace torchts
