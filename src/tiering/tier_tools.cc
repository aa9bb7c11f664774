#include "tiering/tier_tools.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "base/status_macros.h"
#include "env/object_store.h"

namespace ebb {
namespace {

Result<std::vector<ObjectInfo>> ListArchiveObjects(ObjectStore* store) {
  EBB_ASSIGN_OR_RETURN(auto objects, store->List("archives/"));
  std::vector<ObjectInfo> out;
  for (auto& o : objects) {
    if (!ArchiveNameFromKey(o.key).empty()) out.push_back(std::move(o));
  }
  return out;
}

}  // namespace

Status RunParallel(size_t n, int threads, const std::function<Status(size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::mutex mu;
  Status first;
  std::atomic<bool> failed{false};
  auto work = [&] {
    while (!failed.load(std::memory_order_acquire)) {
      size_t i = next.fetch_add(1);
      if (i >= n) return;
      Status s = fn(i);
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (first.ok()) first = s;
        failed.store(true, std::memory_order_release);
      }
    }
  };
  std::vector<std::thread> helpers;
  int extra = static_cast<int>(std::min<size_t>(n, static_cast<size_t>(std::max(1, threads)))) - 1;
  for (int t = 0; t < extra; t++) helpers.emplace_back(work);
  work();
  for (auto& h : helpers) h.join();
  return first;
}

Result<TierIndex> RebuildIndex(ObjectStore* store, const KeyRing& keys, RebuildReport* report,
                               const ProgressFn& progress, int parallelism) {
  RebuildReport local;
  if (report == nullptr) report = &local;
  EBB_ASSIGN_OR_RETURN(auto objects, ListArchiveObjects(store));
  // The TOCs are read in parallel, then merged in name order (AddArchive is
  // order-independent, but the report's problems read better in order).
  std::vector<Result<ArchiveToc>> tocs(objects.size(), Status::OK());
  std::vector<int> reads(objects.size(), 0);
  std::vector<std::vector<std::string>> problems(objects.size());
  std::vector<bool> scanned(objects.size(), false);
  std::mutex progress_mu;
  Progress p{.items_total = objects.size()};
  for (const auto& object : objects) p.bytes_total += object.size_bytes;
  if (progress) progress(p);
  Status s = RunParallel(objects.size(), parallelism, [&](size_t i) -> Status {
    const auto& object = objects[i];
    std::string name = ArchiveNameFromKey(object.key);
    auto toc = ReadArchiveToc(ObjectRangeReader(store, object.key), object.size_bytes, name, keys, &reads[i]);
    if (!toc.ok()) {
      if (toc.status().IsPermissionDenied()) return toc.status();
      if (!toc.status().IsCorruption()) return toc.status().WithContext("rebuild tier index");
      problems[i].push_back(fmt::format("{}: {}; scanning member headers", name, toc.status().message()));
      EBB_ASSIGN_OR_RETURN(std::string bytes, store->Get(object.key));
      std::vector<std::string> skipped;
      toc = ScanArchive(bytes, name, keys, &skipped);
      if (!toc.ok()) return toc.status();
      for (auto& sk : skipped) problems[i].push_back(fmt::format("{}: {}", name, sk));
      scanned[i] = true;
    }
    tocs[i] = std::move(toc);
    std::lock_guard<std::mutex> lock(progress_mu);
    p.items_done++;
    p.bytes_done += object.size_bytes;
    if (progress) progress(p);
    return Status::OK();
  });
  EBB_RETURN_IF_ERROR(s);
  TierIndex index;
  for (size_t i = 0; i < objects.size(); i++) {
    report->archives++;
    report->ranged_reads += static_cast<uint64_t>(reads[i]);
    (scanned[i] ? report->from_scan : report->from_toc)++;
    if (scanned[i]) report->full_downloads++;
    for (auto& pr : problems[i]) report->problems.push_back(std::move(pr));
    index.AddArchive(*tocs[i], objects[i].size_bytes);
  }
  return index;
}

Result<std::vector<ArchiveListing>> ListArchives(ObjectStore* store, const KeyRing& keys) {
  EBB_ASSIGN_OR_RETURN(auto objects, ListArchiveObjects(store));
  std::vector<ArchiveListing> out;
  for (const auto& object : objects) {
    ArchiveListing listing;
    listing.name = ArchiveNameFromKey(object.key);
    listing.size_bytes = object.size_bytes;
    auto toc = ReadArchiveToc(ObjectRangeReader(store, object.key), object.size_bytes, listing.name, keys);
    if (toc.ok()) {
      listing.toc = std::move(toc).value();
    } else {
      listing.error = toc.status();
    }
    out.push_back(std::move(listing));
  }
  return out;
}

Result<std::vector<ArchiveVerification>> VerifyArchives(ObjectStore* store, const KeyRing& keys,
                                                        const std::vector<std::string>& names,
                                                        const ProgressFn& progress) {
  EBB_ASSIGN_OR_RETURN(auto all, ListArchiveObjects(store));
  std::vector<ObjectInfo> objects;
  Progress p;
  for (auto& object : all) {
    std::string name = ArchiveNameFromKey(object.key);
    if (!names.empty() && std::find(names.begin(), names.end(), name) == names.end()) continue;
    p.items_total++;
    p.bytes_total += object.size_bytes;
    objects.push_back(std::move(object));
  }
  std::vector<ArchiveVerification> out;
  for (const auto& object : objects) {
    if (progress) progress(p);
    p.items_done++;
    p.bytes_done += object.size_bytes;
    ArchiveVerification v;
    v.name = ArchiveNameFromKey(object.key);
    auto bytes = store->Get(object.key);
    if (!bytes.ok()) {
      v.errors.push_back(bytes.status().ToString());
      out.push_back(std::move(v));
      continue;
    }
    RangeReader in_memory = [&](uint64_t offset, uint64_t length) -> Result<std::string> {
      if (offset >= bytes->size()) return Status::InvalidArgument("read past the end of the archive");
      return bytes->substr(offset, length);
    };
    auto toc = ReadArchiveToc(in_memory, bytes->size(), v.name, keys);
    if (!toc.ok()) {
      if (toc.status().IsPermissionDenied()) return toc.status();
      v.errors.push_back(toc.status().ToString());
      // Check what the member headers still describe.
      std::vector<std::string> skipped;
      toc = ScanArchive(*bytes, v.name, keys, &skipped);
      for (auto& s : skipped) v.errors.push_back(s);
      if (!toc.ok()) {
        v.errors.push_back(toc.status().ToString());
        out.push_back(std::move(v));
        continue;
      }
    }
    auto key = keys.ForArchive(toc->key_id, v.name);
    if (!key.ok()) return key.status();
    for (const auto& m : toc->members) {
      auto plain = ReadMember(in_memory, v.name, m, **key);
      if (!plain.ok()) {
        v.errors.push_back(plain.status().ToString());
        continue;
      }
      v.members_checked++;
      v.bytes_checked += plain->size();
    }
    out.push_back(std::move(v));
  }
  if (progress) progress(p);
  return out;
}

}  // namespace ebb
