#include "tiering/tier_tools.h"

#include <algorithm>

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

Result<TierIndex> RebuildIndex(ObjectStore* store, const ArchiveKey& key, RebuildReport* report) {
  RebuildReport local;
  if (report == nullptr) report = &local;
  EBB_ASSIGN_OR_RETURN(auto objects, ListArchiveObjects(store));
  TierIndex index;
  for (const auto& object : objects) {
    std::string name = ArchiveNameFromKey(object.key);
    report->archives++;
    int reads = 0;
    auto toc = ReadArchiveToc(ObjectRangeReader(store, object.key), object.size_bytes, name, key, &reads);
    report->ranged_reads += static_cast<uint64_t>(reads);
    if (toc.ok()) {
      report->from_toc++;
      index.AddArchive(*toc, object.size_bytes);
      continue;
    }
    if (toc.status().IsPermissionDenied()) return toc.status();
    if (!toc.status().IsCorruption()) return toc.status().WithContext("rebuild tier index");
    report->problems.push_back(fmt::format("{}: {}; scanning member headers", name, toc.status().message()));
    EBB_ASSIGN_OR_RETURN(std::string bytes, store->Get(object.key));
    report->full_downloads++;
    std::vector<std::string> skipped;
    EBB_ASSIGN_OR_RETURN(ArchiveToc scanned, ScanArchive(bytes, name, key, &skipped));
    for (auto& s : skipped) report->problems.push_back(fmt::format("{}: {}", name, s));
    report->from_scan++;
    index.AddArchive(scanned, object.size_bytes);
  }
  return index;
}

Result<std::vector<ArchiveListing>> ListArchives(ObjectStore* store, const ArchiveKey& key) {
  EBB_ASSIGN_OR_RETURN(auto objects, ListArchiveObjects(store));
  std::vector<ArchiveListing> out;
  for (const auto& object : objects) {
    ArchiveListing listing;
    listing.name = ArchiveNameFromKey(object.key);
    listing.size_bytes = object.size_bytes;
    auto toc = ReadArchiveToc(ObjectRangeReader(store, object.key), object.size_bytes, listing.name, key);
    if (toc.ok()) {
      listing.toc = std::move(toc).value();
    } else {
      listing.error = toc.status();
    }
    out.push_back(std::move(listing));
  }
  return out;
}

Result<std::vector<ArchiveVerification>> VerifyArchives(ObjectStore* store, const ArchiveKey& key,
                                                        const std::vector<std::string>& names) {
  EBB_ASSIGN_OR_RETURN(auto objects, ListArchiveObjects(store));
  std::vector<ArchiveVerification> out;
  for (const auto& object : objects) {
    ArchiveVerification v;
    v.name = ArchiveNameFromKey(object.key);
    if (!names.empty() && std::find(names.begin(), names.end(), v.name) == names.end()) continue;
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
    auto toc = ReadArchiveToc(in_memory, bytes->size(), v.name, key);
    if (!toc.ok()) {
      if (toc.status().IsPermissionDenied()) return toc.status();
      v.errors.push_back(toc.status().ToString());
      // Check what the member headers still describe.
      std::vector<std::string> skipped;
      toc = ScanArchive(*bytes, v.name, key, &skipped);
      for (auto& s : skipped) v.errors.push_back(s);
      if (!toc.ok()) {
        v.errors.push_back(toc.status().ToString());
        out.push_back(std::move(v));
        continue;
      }
    }
    for (const auto& m : toc->members) {
      auto plain = ReadMember(in_memory, v.name, m, key);
      if (!plain.ok()) {
        v.errors.push_back(plain.status().ToString());
        continue;
      }
      v.members_checked++;
      v.bytes_checked += plain->size();
    }
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace ebb
