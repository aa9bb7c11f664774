#include "tiering/bucket_meta.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include <fmt/format.h>

#include "base/status_macros.h"
#include "base/sync_point.h"
#include "env/clock.h"
#include "env/file_system.h"
#include "env/object_store.h"
#include "tiering/archive.h"

namespace ebb {
namespace {

// Attempts of a read-modify-write of a meta object that loses races.
constexpr int kMaxMetaWriteAttempts = 8;

std::vector<uint64_t> ParseKeyRegistry(const std::string& text) {
  std::vector<uint64_t> ids;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() < 16) continue;
    // `end` points into `hex`, which must outlive the check of *end.
    const std::string hex = line.substr(0, 16);
    char* end = nullptr;
    uint64_t id = std::strtoull(hex.c_str(), &end, 16);
    if (end != nullptr && *end == '\0' && std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  }
  return ids;
}

// Writes `text` to `key` if the object is still what `etag` names (or
// absent, when `exists` is false). AlreadyExists when it changed; the
// unconditional write where the store ignores conditions (*conditional
// false).
Status WriteMeta(ObjectStore* store, const std::string& key, const std::string& text, bool exists,
                 const std::string& etag, bool* conditional) {
  Status s = store->PutIf(key, text, exists ? WriteCondition::kIfMatch : WriteCondition::kIfAbsent, etag);
  if (s.IsNotSupported()) {
    *conditional = false;
    return store->Put(key, text);
  }
  *conditional = true;
  return s;
}

// Adds `ids` to meta/keys (those not there yet).
Status RegisterKeys(ObjectStore* store, const std::vector<uint64_t>& ids, const Clock* clock) {
  for (int attempt = 0; attempt < kMaxMetaWriteAttempts; attempt++) {
    std::string etag;
    auto current = store->GetWithEtag(kKeyRegistryObjectKey, &etag);
    if (!current.ok() && !current.status().IsNotFound()) return current.status().WithContext("read the key registry");
    std::string text = current.ok() ? *current : "";
    std::vector<uint64_t> registered = ParseKeyRegistry(text);
    bool changed = false;
    for (uint64_t id : ids) {
      if (std::find(registered.begin(), registered.end(), id) != registered.end()) continue;
      text += fmt::format("{} {}\n", KeyIdHex(id), clock->WallMicros());
      changed = true;
    }
    if (!changed) return Status::OK();
    bool conditional = false;
    Status s = WriteMeta(store, kKeyRegistryObjectKey, text, current.ok(), etag, &conditional);
    if (!s.IsAlreadyExists()) return s.WithContext("record the archive key id in the bucket");
  }
  return Status::Aborted(fmt::format("{}: {} kept changing while a key id was recorded; retry", store->Describe(),
                                     kKeyRegistryObjectKey));
}

std::string IdList(const std::vector<uint64_t>& ids) {
  std::string out;
  for (uint64_t id : ids) out += (out.empty() ? "" : ", ") + KeyIdHex(id);
  return out;
}

}  // namespace

Result<EpochAdvance> AdvanceEpoch(FileSystem* fs, const std::string& local_path, ObjectStore* store) {
  uint64_t local = 0;
  if (fs->FileExists(local_path)) {
    EBB_ASSIGN_OR_RETURN(std::string text, ReadFileToString(fs, local_path));
    local = std::strtoull(text.c_str(), nullptr, 10);
  }
  for (int attempt = 0; attempt < kMaxMetaWriteAttempts; attempt++) {
    std::string etag;
    uint64_t remote = 0;
    auto remote_text = store->GetWithEtag(kEpochObjectKey, &etag);
    if (remote_text.ok()) {
      remote = std::strtoull(remote_text->c_str(), nullptr, 10);
    } else if (!remote_text.status().IsNotFound()) {
      return remote_text.status().WithContext("read the tiering epoch");
    }
    uint64_t next = std::max(local, remote) + 1;
    // Another agent may advance the remote epoch right here.
    EBB_SYNC_POINT("AdvanceEpoch:read");
    std::string text = fmt::format("{}\n", next);
    EBB_RETURN_IF_ERROR(WriteFileAtomically(fs, text, local_path).WithContext("save the tiering epoch"));
    local = next;
    EpochAdvance out{.epoch = next, .conditional = false};
    Status s = WriteMeta(store, kEpochObjectKey, text, remote_text.ok(), etag, &out.conditional);
    if (s.ok()) return out;
    // Another agent advanced it between our read and write: read again.
    if (!s.IsAlreadyExists()) return s.WithContext("publish the tiering epoch");
  }
  return Status::Aborted(fmt::format("{}: {} kept changing while this agent started (other agents are starting on "
                                     "the same bucket); retry",
                                     store->Describe(), kEpochObjectKey));
}

Status CheckEpoch(ObjectStore* store, uint64_t mine) {
  auto remote_text = store->Get(kEpochObjectKey);
  if (!remote_text.ok()) return remote_text.status().WithContext("check the tiering epoch");
  uint64_t remote = std::strtoull(remote_text->c_str(), nullptr, 10);
  if (remote > mine) {
    return Status::Aborted(fmt::format(
        "fenced: another tiering agent started with epoch {} on {} (this agent has epoch {}); this agent stops "
        "publishing; restart it if it should own the object store",
        remote, store->Describe(), mine));
  }
  return Status::OK();
}

Result<std::vector<uint64_t>> BucketKeyIds(ObjectStore* store) {
  auto registry = store->Get(kKeyRegistryObjectKey);
  if (registry.ok()) {
    std::vector<uint64_t> ids = ParseKeyRegistry(*registry);
    if (!ids.empty()) return ids;
  } else if (!registry.status().IsNotFound()) {
    return registry.status().WithContext("read the key registry");
  }
  EBB_ASSIGN_OR_RETURN(auto objects, store->List("archives/"));
  for (auto it = objects.rbegin(); it != objects.rend(); ++it) {
    std::string name = ArchiveNameFromKey(it->key);
    if (name.empty()) continue;
    EBB_ASSIGN_OR_RETURN(uint64_t id, ReadArchiveKeyId(ObjectRangeReader(store, it->key), it->size_bytes, name));
    return std::vector<uint64_t>{id};
  }
  return std::vector<uint64_t>{};
}

Status MissingKeyError(const std::string& key_file, const std::string& where, const std::vector<uint64_t>& key_ids) {
  return Status::PermissionDenied(fmt::format(
      "archive key file {} is missing, and {} holds archives written with key id {}; restore that key file from "
      "your backup (or set tiering.key_file to it). Ebb never makes a new key over existing archives: they would "
      "become unreadable once evicted",
      key_file, where, IdList(key_ids)));
}

Status CheckKeysAgainstBucket(ObjectStore* store, const KeyRing& ring, const Clock* clock, bool may_register) {
  EBB_ASSIGN_OR_RETURN(std::vector<uint64_t> needed, BucketKeyIds(store));
  std::vector<uint64_t> mine = ring.key_ids();
  bool knows_one = std::any_of(needed.begin(), needed.end(), [&](uint64_t id) { return ring.Find(id) != nullptr; });
  if (!needed.empty() && !knows_one) {
    return Status::PermissionDenied(fmt::format(
        "the archives in {} were written with key id {}, and this store's keys are {}; configure the key file that "
        "wrote them (tiering.key_file), or another bucket or prefix for this store",
        store->Describe(), IdList(needed), ring.Describe()));
  }
  if (!may_register || ring.current() == nullptr) return Status::OK();
  std::vector<uint64_t> to_register = {ring.current()->key_id()};
  // An older bucket without a registry: record the key its archives use too.
  for (uint64_t id : needed) {
    if (ring.Find(id) != nullptr) to_register.push_back(id);
  }
  return RegisterKeys(store, to_register, clock);
}

Result<std::unique_ptr<KeyRing>> CreateKeyForEmptyBucket(FileSystem* fs, ObjectStore* store, const Clock* clock,
                                                         const std::string& key_file,
                                                         const std::string& local_evidence) {
  if (!local_evidence.empty()) {
    return Status::PermissionDenied(fmt::format(
        "archive key file {} is missing, though this store has archived before ({}); restore the key file from "
        "your backup (or set tiering.key_file to it). Ebb never makes a new key over existing archives",
        key_file, local_evidence));
  }
  EBB_ASSIGN_OR_RETURN(std::vector<uint64_t> needed, BucketKeyIds(store));
  if (!needed.empty()) return MissingKeyError(key_file, store->Describe(), needed);
  EBB_ASSIGN_OR_RETURN(auto key, ArchiveKey::Create(fs, key_file));
  auto ring = std::make_unique<KeyRing>(std::move(key));
  EBB_RETURN_IF_ERROR(RegisterKeys(store, ring->key_ids(), clock));
  return ring;
}

}  // namespace ebb
