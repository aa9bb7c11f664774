#include "tiering/bucket_gc.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "base/status_macros.h"
#include "env/clock.h"
#include "env/object_store.h"
#include "tiering/catalog.h"

namespace ebb {
namespace {

constexpr char kSnapshotPrefix[] = "snapshots/";

}  // namespace

Result<std::vector<std::string>> ListPublishedSnapshots(ObjectStore* store) {
  EBB_ASSIGN_OR_RETURN(auto objects, store->List(kSnapshotPrefix));
  std::vector<std::string> ids;
  for (const auto& o : objects) {
    std::string id = o.key.substr(std::string_view(kSnapshotPrefix).size());
    if (ArchiveNameMicros(id) != 0) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

Result<GcReport> CollectGarbage(ObjectStore* store, const KeyRing& keys, TierIndex* index, const GcInputs& inputs,
                                const GcOptions& options, const Clock* clock) {
  GcReport report;
  EBB_ASSIGN_OR_RETURN(std::vector<std::string> snapshots, ListPublishedSnapshots(store));
  EBB_ASSIGN_OR_RETURN(auto objects, store->List("archives/"));
  std::map<std::string, uint64_t> archives;  // name -> size
  for (const auto& o : objects) {
    std::string name = ArchiveNameFromKey(o.key);
    if (!name.empty()) archives[name] = o.size_bytes;
  }
  report.snapshots = snapshots.size();
  report.archives = archives.size();

  // Which snapshots stay.
  const size_t keep_newest = std::max<size_t>(1, options.retain_snapshots);
  const int64_t horizon = clock->WallMicros() - options.retain_s * 1'000'000;
  std::vector<std::string> retained, expired;
  for (size_t i = 0; i < snapshots.size(); i++) {
    bool newest = i + keep_newest >= snapshots.size();
    (newest || ArchiveNameMicros(snapshots[i]) >= horizon ? retained : expired).push_back(snapshots[i]);
  }
  report.snapshots_retained = retained.size();

  // Which archives are needed.
  std::set<std::string> needed(inputs.in_flight.begin(), inputs.in_flight.end());
  const std::string newest_snapshot = snapshots.empty() ? "" : snapshots.back();
  for (const auto& [name, size] : archives) {
    if (name > newest_snapshot) needed.insert(name);  // not published yet
  }
  auto latest = index->latest_catalog();
  for (const auto& id : retained) {
    needed.insert(id);
    if (!archives.count(id)) {
      report.problems.push_back(fmt::format("snapshot {}: its archive is missing from {}", id, store->Describe()));
      continue;
    }
    StoreCatalog catalog;
    if (latest && latest->first == id) {
      catalog = latest->second;
    } else {
      auto toc = ReadArchiveToc(ObjectRangeReader(store, ArchiveObjectKey(id)), archives[id], id, keys);
      if (!toc.ok()) {
        // Without its catalog nothing it may need can be told apart: keep everything.
        return toc.status().WithContext(fmt::format("garbage collection: read the catalog of snapshot {}", id));
      }
      if (!toc->catalog) continue;  // version 1: needs only itself
      catalog = *toc->catalog;
    }
    for (const auto& name : CatalogArchives(catalog)) needed.insert(name);
  }
  std::map<std::string, uint64_t> live_bytes;  // per archive, payload bytes of live segments
  for (const auto& e : index->entries()) {
    bool live = inputs.in_use_numbers.count(e.member.meta.segment_id) > 0;
    if (!live) {
      auto it = inputs.live.lower_bound(SegmentKey{e.member.meta.database, e.member.meta.segment_id, 0});
      for (; it != inputs.live.end() && it->database == e.member.meta.database &&
             it->number == e.member.meta.segment_id;
           ++it) {
        if (it->checksum == 0 || it->checksum == e.member.plaintext_checksum) live = true;
      }
    }
    if (live) {
      needed.insert(e.archive);
      live_bytes[e.archive] += e.member.payload_length;
    }
  }

  std::vector<std::string> doomed;
  for (const auto& [name, size] : archives) {
    if (needed.count(name)) {
      report.bytes_kept += size;
      auto rec = index->archive(name);
      if (rec) report.garbage_bytes += rec->member_bytes - std::min(rec->member_bytes, live_bytes[name]);
      continue;
    }
    doomed.push_back(name);
  }
  if (options.dry_run) {
    report.snapshots_deleted = expired.size();
    for (const auto& name : doomed) {
      report.archives_deleted++;
      report.bytes_reclaimed += archives[name];
      report.deleted.push_back(name);
    }
    return report;
  }
  if (!expired.empty() || !doomed.empty()) {
    if (inputs.may_delete) EBB_RETURN_IF_ERROR(inputs.may_delete());
  }
  for (const auto& id : expired) {
    EBB_RETURN_IF_ERROR(store->Delete(kSnapshotPrefix + id).WithContext("garbage collection"));
    report.snapshots_deleted++;
  }
  for (const auto& name : doomed) {
    EBB_RETURN_IF_ERROR(store->Delete(ArchiveObjectKey(name)).WithContext("garbage collection"));
    index->RemoveArchive(name);
    report.archives_deleted++;
    report.bytes_reclaimed += archives[name];
    report.deleted.push_back(name);
  }
  return report;
}

}  // namespace ebb
