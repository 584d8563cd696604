# node-gyp build of the same sources as CMakeLists.txt (`npm run build:gyp`).
# libtorch is located by scripts/libtorch.js (LIBTORCH, then python3 torch).
# No precompiled header here: each translation unit parses torch/torch.h in
# full, so this build is slower than cmake-js but needs nothing but node-gyp.
{
  'variables': {
    'libtorch%': '<!(node scripts/libtorch.js --root)',
    'libtorch_cuda%': '<!(node scripts/libtorch.js --cuda)',
    'gloo%': '<!(node scripts/libtorch.js --gloo)',
    'cuda_home%': '<!(node -p "process.env.CUDA_HOME || process.env.CUDA_PATH || \'/usr/local/cuda\'")',
  },
  'targets': [
    {
      'target_name': 'torchts',
      'sources': [
        'native/addon.cc',
        'native/cpu_allocator.cc',
        'native/tensor.cc',
        'native/ops.cc',
        'native/runtime.cc',
        'native/modules.cc',
        'native/optim.cc',
        'native/serialize.cc',
        'native/distributed.cc',
      ],
      'include_dirs': [
        '<!(node -p "require(\'node-addon-api\').include_dir")',
        '<(libtorch)/include',
        '<(libtorch)/include/torch/csrc/api/include',
      ],
      'defines': ['NAPI_VERSION=8', 'NAPI_CPP_EXCEPTIONS', 'NODE_ADDON_API_DISABLE_DEPRECATED'],
      'cflags!': ['-fno-exceptions'],
      'cflags_cc!': ['-fno-exceptions', '-fno-rtti', '-std=gnu++17', '-std=gnu++20'],
      'cflags_cc': ['-std=c++20', '-fexceptions', '-frtti', '-O2', '-fvisibility=hidden', '-Wno-unused-parameter'],
      'libraries': [
        # libtorch_cuda registers its kernels from static initialisers only:
        # without --no-as-needed the linker drops it and CUDA disappears.
        '-Wl,--no-as-needed',
        '-L<(libtorch)/lib',
        '-ltorch',
        '-ltorch_cpu',
        '-lc10',
        '-Wl,-rpath,<(libtorch)/lib',
      ],
      'conditions': [
        # c10d/Gloo (see CMakeLists.txt): the wheel's CMake config defines
        # these for CMake users; node-gyp must pass them itself.
        ['gloo=="1"', {
          'defines': ['TORCHTS_WITH_GLOO', 'USE_DISTRIBUTED', 'USE_C10D_GLOO'],
        }],
        ['libtorch_cuda=="1"', {
          'defines': ['TORCHTS_WITH_CUDA'],
          'include_dirs': ['<(cuda_home)/include'],
          'libraries': ['-ltorch_cuda', '-lc10_cuda'],
        }],
      ],
    },
  ],
}
