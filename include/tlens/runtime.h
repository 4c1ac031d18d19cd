// runtime: process-wide settings that decide CPU speed.
//
//   tlens::configure_runtime(/*threads=*/0);   // 0 = every core
//
// - One thread pool: libtorch's intra-op threads = `threads` (Debian's libtorch starts with 1).
// - Memory reuse: glibc returns big freed buffers to the OS (munmap) and the next forward touches
//   fresh pages again, ~12 us per 4 KiB page here. configure_runtime installs a CPU allocator that
//   keeps buffers of 1 MiB and more for reuse (backed by transparent huge pages), so every
//   forward after the first reuses warm memory.
#pragma once

namespace tlens {

void configure_runtime(int threads = 0);
// Gives the buffers the allocator keeps for reuse back to the system (from_pretrained calls it
// after loading, whose temporaries would otherwise stay resident).
void release_cached_memory();
int hardware_threads();

}  // namespace tlens
