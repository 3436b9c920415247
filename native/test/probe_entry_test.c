/* Test only: the probe's plain-C entry points (native/src/probe/leaklab_probe.h), from C.
     probe_entry_test <path to libleaklab-probe.so>
   run under the counting shim (LD_PRELOAD=libleaklab_alloc_count.so[:allocator]). It dlopens
   the probe, makes one warm-up call of each entry point (the first finds the allocator),
   then three threads each call leaklab_alloc_counters and leaklab_alloc_release 20 times
   and count their own malloc/free calls around that (the shim's leaklab_alloc_calls). Then
   buffers that are too small, with a canary byte right after them. Prints one JSON line:
   {"allocator":"...","warmup_allocs":N,"threads":[{"allocs":N,"frees":N,"counters_ok":N,"release_ok":N},...],
    "small_counters":rc,"small_release":rc,"canary_intact":bool,"counters":{...}}
   test/subjects/probe-entry.test.ts reads it. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef long (*EntryFn)(char*, size_t);
typedef uint64_t (*CallsFn)(uint64_t*);

static EntryFn counters, release_fn;
static CallsFn calls;

struct Result {
  uint64_t allocs, frees;
  int counters_ok, release_ok;
};

static void* Worker(void* arg) {
  struct Result* r = (struct Result*)arg;
  static __thread char buf[16384];
  uint64_t f0 = 0, f1 = 0;
  const uint64_t a0 = calls(&f0);
  for (int i = 0; i < 20; ++i) {
    if (counters(buf, sizeof buf) > 0 && strncmp(buf, "{\"ok\":true", 10) == 0) r->counters_ok++;
    if (release_fn(buf, sizeof buf) > 0 && strstr(buf, "\"calls\":[") != NULL) r->release_ok++;
  }
  r->allocs = calls(&f1) - a0;
  r->frees = f1 - f0;
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: probe_entry_test <libleaklab-probe.so>\n");
    return 2;
  }
  calls = (CallsFn)dlsym(RTLD_DEFAULT, "leaklab_alloc_calls");
  void* probe = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (calls == NULL || probe == NULL) {
    fprintf(stderr, "probe_entry_test: %s\n", calls == NULL ? "the counting shim is not preloaded" : dlerror());
    return 2;
  }
  counters = (EntryFn)dlsym(probe, "leaklab_alloc_counters");
  release_fn = (EntryFn)dlsym(probe, "leaklab_alloc_release");
  if (counters == NULL || release_fn == NULL) {
    fprintf(stderr, "probe_entry_test: the probe exports no leaklab_alloc_counters/leaklab_alloc_release\n");
    return 2;
  }
  static char first[16384];
  const uint64_t warm0 = calls(NULL);
  release_fn(first, sizeof first);
  const uint64_t warmup_allocs = calls(NULL) - warm0;
  if (counters(first, sizeof first) <= 0) {
    fprintf(stderr, "probe_entry_test: leaklab_alloc_counters failed\n");
    return 1;
  }
  struct Result results[3];
  memset(results, 0, sizeof results);
  pthread_t threads[3];
  for (int i = 0; i < 3; ++i) pthread_create(&threads[i], NULL, Worker, &results[i]);
  for (int i = 0; i < 3; ++i) pthread_join(threads[i], NULL);
  char small[41];
  memset(small, '#', sizeof small);
  const long small_counters = counters(small, 40);
  const int canary1 = small[40] == '#';
  const long small_release = release_fn(small, 40);
  const int canary2 = small[40] == '#';
  const char* name = strstr(first, "\"name\":\"");
  char allocator[32] = "?";
  if (name != NULL) sscanf(name + 8, "%31[^\"]", allocator);
  printf("{\"allocator\":\"%s\",\"warmup_allocs\":%llu,\"threads\":[", allocator, (unsigned long long)warmup_allocs);
  for (int i = 0; i < 3; ++i)
    printf("%s{\"allocs\":%llu,\"frees\":%llu,\"counters_ok\":%d,\"release_ok\":%d}", i ? "," : "",
           (unsigned long long)results[i].allocs, (unsigned long long)results[i].frees, results[i].counters_ok,
           results[i].release_ok);
  printf("],\"small_counters\":%ld,\"small_release\":%ld,\"canary_intact\":%s,\"counters\":%s}\n", small_counters,
         small_release, canary1 && canary2 ? "true" : "false", first);
  return 0;
}
