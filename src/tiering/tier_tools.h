// Library functions behind `ebb tier ls | verify | rebuild-index | gc`,
// usable offline (no engine): they read the archives in the object store
// with the archive keys. Long ones report progress through a callback.

#ifndef EBB_TIERING_TIER_TOOLS_H_
#define EBB_TIERING_TIER_TOOLS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ebb/status.h"
#include "tiering/archive.h"
#include "tiering/tier_index.h"

namespace ebb {

class ObjectStore;

// Progress of a long operation: bytes and items (archives, members) done
// of the totals known so far (a total of 0 is not known yet).
struct Progress {
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;
  uint64_t items_done = 0;
  uint64_t items_total = 0;
};
using ProgressFn = std::function<void(const Progress&)>;

// Runs fn(0) .. fn(n - 1) on up to `threads` threads (the caller's among
// them); returns the first error, after which no new item starts. Object
// stores answer in tens of milliseconds: long operations keep several
// requests in flight.
Status RunParallel(size_t n, int threads, const std::function<Status(size_t)>& fn);
inline constexpr int kTierToolParallelism = 8;

struct RebuildReport {
  uint64_t archives = 0;
  uint64_t from_toc = 0;        // footer + TOC read with 1-2 ranged reads
  uint64_t from_scan = 0;       // footer/TOC damaged: member headers scanned
  uint64_t ranged_reads = 0;    // of the TOC path
  uint64_t full_downloads = 0;  // of the scan path
  std::vector<std::string> problems;  // archives or members that were skipped, and why
};

// Regenerates the tier index from the archives alone: one List, then per
// archive its footer and TOC (one ranged read of the tail, two if the TOC is
// bigger than 64 KiB), or, if those are damaged, a full download and scan of
// the member pax headers. Tombstones remove the entries of dropped databases.
// An archive written with another key fails the whole rebuild
// (PermissionDenied): a partial index would silently lose segments.
Result<TierIndex> RebuildIndex(ObjectStore* store, const KeyRing& keys, RebuildReport* report = nullptr,
                               const ProgressFn& progress = nullptr, int parallelism = kTierToolParallelism);

struct ArchiveListing {
  std::string name;
  uint64_t size_bytes = 0;
  ArchiveToc toc;     // valid when error is OK
  Status error;       // why the TOC could not be read
};
// Every archive with its members (TOC read only).
Result<std::vector<ArchiveListing>> ListArchives(ObjectStore* store, const KeyRing& keys);

struct ArchiveVerification {
  std::string name;
  uint64_t members_checked = 0;
  uint64_t bytes_checked = 0;  // plaintext
  std::vector<std::string> errors;  // empty = the archive is intact
};
// Downloads each archive (all, or those in `names`), decrypts every member
// and checks every checksum.
Result<std::vector<ArchiveVerification>> VerifyArchives(ObjectStore* store, const KeyRing& keys,
                                                        const std::vector<std::string>& names = {},
                                                        const ProgressFn& progress = nullptr);

}  // namespace ebb

#endif  // EBB_TIERING_TIER_TOOLS_H_
