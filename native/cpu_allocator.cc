// A caching allocator for large CPU blocks, installed as libtorch's CPU
// allocator when the addon loads.
//
// Why: a training or inference step frees and reallocates the same
// multi-megabyte activation buffers every step. libtorch allocates them with
// posix_memalign(64), which glibc serves by over-allocating and trimming the
// block; once small allocations have taken the trimmed edges, a freed block
// no longer fits the next (padded) request for the same size, so glibc takes
// fresh memory from the top of the heap or from mmap and the kernel
// zero-fills every page on first touch. Measured on the 2-core CI machine: a
// 64 MiB BatchNorm output page-faulted 16,384 times in most of its first
// iterations (2.6 ms without faults, 140 ms with), in Python too. Keeping
// freed large blocks and handing them back for requests of (nearly) the same
// size, as PyTorch's CUDA caching allocator does on the GPU, makes a steady
// step fault-free without touching glibc's settings for the rest of the
// process.
//
// Blocks below kMinCachedBytes go to libtorch's default allocator unchanged.
// Idle cached bytes are capped (TORCHTS_CPU_CACHE_LIMIT, default half of
// physical memory); beyond the cap the longest-idle blocks are freed.
// trimMemory() frees every idle block.
#include "common.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace torchts {

namespace {

// Below this, glibc serves blocks from its heap cheaply.
constexpr size_t kMinCachedBytes = size_t{128} << 10;
constexpr size_t kPageBytes = 4096;
// A cached block is reused for a request up to 1/16 smaller than it.
constexpr size_t kReuseSlackDivisor = 16;

class CachingCpuAllocator final : public c10::Allocator {
 public:
  CachingCpuAllocator(c10::Allocator* fallback, size_t idleLimit) : fallback_(fallback), idleLimit_(idleLimit) {}

  c10::DataPtr allocate(size_t nbytes) override {
    if (nbytes < kMinCachedBytes) return fallback_->allocate(nbytes);
    void* data = Acquire(nbytes);
    return {data, data, &Release, c10::Device(c10::DeviceType::CPU)};
  }

  // Every pointer this allocator hands out, cached or not, is freed through
  // Release, so raw_allocate/raw_deallocate (used by oneDNN) work.
  c10::DeleterFnPtr raw_deleter() const override { return &Release; }

  void copy_data(void* dest, const void* src, size_t count) const override { default_copy_data(dest, src, count); }

  CpuCacheStats Stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return {liveBytes_, idleBytes_, idleLimit_, hits_, misses_};
  }

  // Frees every idle block; returns the bytes freed.
  size_t EmptyCache() {
    std::vector<void*> doomed;
    size_t freed = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (const auto& [size, block] : idle_) doomed.push_back(block.data);
      freed = idleBytes_;
      idle_.clear();
      idleBytes_ = 0;
    }
    for (void* data : doomed) c10::free_cpu(data);
    return freed;
  }

  static CachingCpuAllocator* instance;

 private:
  struct IdleBlock {
    void* data;
    uint64_t idleSince;  // release sequence number, for oldest-first eviction
  };

  void* Acquire(size_t nbytes) {
    const size_t size = (nbytes + kPageBytes - 1) / kPageBytes * kPageBytes;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto fit = idle_.lower_bound(size);
      if (fit != idle_.end() && fit->first - size <= fit->first / kReuseSlackDivisor) {
        // Of equal-sized blocks the most recently freed, whose pages are
        // most likely still in cache and TLB (multimap keeps insertion order).
        fit = std::prev(idle_.upper_bound(fit->first));
        void* data = fit->second.data;
        const size_t blockSize = fit->first;
        idle_.erase(fit);
        idleBytes_ -= blockSize;
        live_.emplace(data, blockSize);
        liveBytes_ += blockSize;
        hits_++;
        return data;
      }
      misses_++;
    }
    void* data = nullptr;
    try {
      data = c10::alloc_cpu(size);
    } catch (const c10::Error&) {
      // Out of memory: idle blocks of other sizes are worth more as free memory.
      if (EmptyCache() == 0) throw;
      data = c10::alloc_cpu(size);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    live_.emplace(data, size);
    liveBytes_ += size;
    return data;
  }

  static void Release(void* data) {
    if (data == nullptr) return;
    CachingCpuAllocator& self = *instance;
    std::vector<void*> doomed;
    bool ours = false;
    {
      std::lock_guard<std::mutex> lock(self.mutex_);
      auto found = self.live_.find(data);
      if (found != self.live_.end()) {
        ours = true;
        const size_t size = found->second;
        self.live_.erase(found);
        self.liveBytes_ -= size;
        if (size > self.idleLimit_) {
          doomed.push_back(data);
        } else {
          self.EvictUntilIdleFits(size, doomed);
          self.idle_.emplace(size, IdleBlock{data, self.releases_++});
          self.idleBytes_ += size;
        }
      }
    }
    if (!ours) {
      // A small block from the fallback, reaching us through raw_deallocate.
      c10::DeleterFnPtr fallbackDeleter = self.fallback_->raw_deleter();
      if (fallbackDeleter != nullptr) {
        fallbackDeleter(data);
      } else {
        c10::free_cpu(data);
      }
      return;
    }
    for (void* block : doomed) c10::free_cpu(block);
  }

  // Called with mutex_ held: frees the longest-idle blocks until `incoming`
  // more idle bytes fit under the limit.
  void EvictUntilIdleFits(size_t incoming, std::vector<void*>& doomed) {
    while (!idle_.empty() && idleBytes_ + incoming > idleLimit_) {
      auto oldest = idle_.begin();
      for (auto it = idle_.begin(); it != idle_.end(); ++it) {
        if (it->second.idleSince < oldest->second.idleSince) oldest = it;
      }
      doomed.push_back(oldest->second.data);
      idleBytes_ -= oldest->first;
      idle_.erase(oldest);
    }
  }

  c10::Allocator* const fallback_;
  const size_t idleLimit_;
  std::mutex mutex_;
  std::unordered_map<void*, size_t> live_;
  std::multimap<size_t, IdleBlock> idle_;
  size_t liveBytes_ = 0;
  size_t idleBytes_ = 0;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
  uint64_t releases_ = 0;
};

CachingCpuAllocator* CachingCpuAllocator::instance = nullptr;

struct CpuAllocatorSetup {
  bool caching = false;
  std::string note = "not yet configured";
};

CpuAllocatorSetup& Setup() {
  static CpuAllocatorSetup setup;
  return setup;
}

// TORCHTS_CPU_CACHE_LIMIT: bytes, with an optional K/M/G suffix (powers of
// 1024); 0 turns caching off. Unset: half of physical memory.
bool IdleLimitFromEnvironment(size_t& limit, std::string& problem) {
  const char* text = std::getenv("TORCHTS_CPU_CACHE_LIMIT");
  if (text == nullptr || *text == '\0') {
    const long pages = sysconf(_SC_PHYS_PAGES);
    const long pageSize = sysconf(_SC_PAGESIZE);
    limit = pages > 0 && pageSize > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(pageSize) / 2 : size_t{4} << 30;
    return true;
  }
  char* end = nullptr;
  const double value = std::strtod(text, &end);
  double scale = 1;
  if (end != nullptr && *end != '\0') {
    switch (std::toupper(static_cast<unsigned char>(*end))) {
      case 'K': scale = 1024.0; break;
      case 'M': scale = 1024.0 * 1024; break;
      case 'G': scale = 1024.0 * 1024 * 1024; break;
      default: scale = 0;
    }
    if (scale != 0 && end[1] != '\0' && !(std::toupper(static_cast<unsigned char>(end[1])) == 'B' && end[2] == '\0')) scale = 0;
  }
  if (end == text || scale == 0 || !(value >= 0)) {
    problem = std::string("TORCHTS_CPU_CACHE_LIMIT='") + text + "' is not a byte count (like 0, 512M or 8G); caching is off";
    return false;
  }
  limit = static_cast<size_t>(value * scale);
  return true;
}

std::string FormatBytes(size_t bytes) {
  const double gib = static_cast<double>(bytes) / (1024.0 * 1024 * 1024);
  char text[64];
  std::snprintf(text, sizeof(text), "%.1f GiB", gib);
  return text;
}

}  // namespace

void InstallCpuAllocator() {
  static std::once_flag once;
  std::call_once(once, [] {
    CpuAllocatorSetup& setup = Setup();
    size_t limit = 0;
    std::string problem;
    if (!IdleLimitFromEnvironment(limit, problem)) {
      setup.note = problem;
      return;
    }
    if (limit == 0) {
      setup.note = "libtorch default (TORCHTS_CPU_CACHE_LIMIT=0)";
      return;
    }
    // Never destroyed: tensors can still be freed while the process exits,
    // after static destructors have run.
    CachingCpuAllocator::instance = new CachingCpuAllocator(c10::GetCPUAllocator(), limit);
    c10::SetCPUAllocator(CachingCpuAllocator::instance, /*priority=*/1);
    setup.caching = c10::GetCPUAllocator() == CachingCpuAllocator::instance;
    setup.note = setup.caching ? "caching blocks >= 128 KiB, up to " + FormatBytes(limit) + " idle"
                               : "libtorch default (another allocator has priority)";
  });
}

bool CpuAllocatorCaching() { return Setup().caching; }

const std::string& CpuAllocatorNote() { return Setup().note; }

CpuCacheStats CpuAllocatorStats() {
  if (!Setup().caching) return {};
  return CachingCpuAllocator::instance->Stats();
}

size_t ReleaseCpuMemory() {
  size_t freed = Setup().caching ? CachingCpuAllocator::instance->EmptyCache() : 0;
#if defined(__GLIBC__)
  if (malloc_trim(0) == 1 && freed == 0) freed = 1;
#endif
  return freed;
}

}  // namespace torchts
