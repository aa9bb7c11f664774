// Recovery of segment files the manifest does not name (docs/RELIABILITY.md,
// "Files the manifest does not name").
//
// A segment file in segments/ that the recovered manifest does not name is
// one of:
//   - the output of a flush or compaction whose manifest edit never landed
//     (a crash, or an error whose outcome was unknown): its data is still in
//     the journal or in the compaction's inputs;
//   - an input a compaction made obsolete, which the crash kept from being
//     deleted (or which a power loss brought back);
//   - a live segment whose edit was lost *after* it was synced (a damaged
//     last record of the manifest): then its data is nowhere else, because
//     journal reclaim deleted the journal files it replaced.
// The first two are redundant, the third is not, and the names alone cannot
// tell them apart. So none is ever deleted at open: a segment whose
// database's journal does not continue from the manifest's flushed
// sequence (a gap no other file fills) is adopted back into the manifest;
// every other one is moved to lost+found/ and reported.

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "base/logging.h"
#include "base/status_macros.h"
#include "ebb/write_batch.h"
#include "storage/storage.h"

namespace ebb {

namespace {

struct Candidate {
  std::string name;
  SegmentMeta meta;
};

SegmentMeta MetaFromSegment(const Segment& seg, uint64_t number) {
  const SegmentProperties& p = seg.properties();
  SegmentMeta m;
  m.number = number;
  m.db_id = p.db_id;
  m.file_size = seg.file_size();
  m.entries = p.entries;
  m.tombstones = p.tombstones;
  m.expiry = p.expiry;
  m.key_bytes = p.key_bytes;
  m.value_bytes = p.value_bytes;
  m.smallest_key = p.smallest_key;
  m.largest_key = p.largest_key;
  m.smallest_seq = p.smallest_seq;
  m.largest_seq = p.largest_seq;
  m.created_unix_micros = p.created_unix_micros;
  return m;
}

}  // namespace

Status Storage::Quarantine(const std::string& name) {
  const std::string& dir = ctx_.options.data_dir;
  EBB_RETURN_IF_ERROR(CreateDirDurably(ctx_.fs, LostFoundDir(dir)));
  const std::string from = JoinPath(SegmentDir(dir), name);
  const std::string to = JoinPath(LostFoundDir(dir), name);
  EBB_RETURN_IF_ERROR(ctx_.fs->RenameFile(from, to));
  EBB_RETURN_IF_ERROR(ctx_.fs->SyncDir(LostFoundDir(dir)));
  EBB_RETURN_IF_ERROR(ctx_.fs->SyncDir(SegmentDir(dir)));
  recovery_.segments_quarantined++;
  EBB_LOG(kWarn,
          "segment file {} is not named by the manifest: moved to {} (kept, not deleted; usually the output of a "
          "flush or compaction a crash cut short, whose data is elsewhere; delete it once you are sure)",
          from, to);
  return Status::OK();
}

Result<std::map<uint64_t, Storage::JournalCoverage>> Storage::ScanJournalCoverage(const ManifestState& state) {
  std::map<uint64_t, JournalCoverage> coverage;
  EBB_ASSIGN_OR_RETURN(std::vector<uint64_t> numbers, JournalFileNumbers());
  std::vector<JournalEntry> entries;
  for (size_t i = 0; i < numbers.size(); i++) {
    const std::string path = JournalFileName(ctx_.options.data_dir, numbers[i]);
    EBB_ASSIGN_OR_RETURN(auto reader, RecordLogReader::Open(ctx_.fs, path, "journal file", kJournalMagic,
                                                            kJournalVersion, i + 1 == numbers.size()));
    while (true) {
      uint8_t type;
      std::string_view payload;
      EBB_ASSIGN_OR_RETURN(bool more, reader->Next(&type, &payload));
      if (!more) break;
      // Malformed records are reported by the replay that follows.
      if (type != kJournalRecordGroup || !DecodeJournalGroup(payload, &entries)) continue;
      for (const JournalEntry& e : entries) {
        auto db = state.databases.find(e.db_id);
        if (db == state.databases.end() || e.first_seq <= db->second.flushed_seq) continue;
        WriteBatch batch;
        const SequenceNumber last = batch.SetRep(std::string(e.batch_rep)) ? e.first_seq + batch.Count() - 1
                                                                            : e.first_seq;
        auto [it, inserted] = coverage.try_emplace(e.db_id, JournalCoverage{e.first_seq, last});
        if (!inserted) {
          it->second.first = std::min(it->second.first, e.first_seq);
          it->second.last = std::max(it->second.last, last);
        }
      }
    }
  }
  return coverage;
}

Status Storage::RecoverUnnamedSegments() {
  const std::string& dir = ctx_.options.data_dir;
  ManifestState state = manifest_->state();
  std::set<uint64_t> named;
  for (const auto& [id, db] : state.databases) {
    for (const auto& seg : db.segments) named.insert(seg.number);
  }
  EBB_ASSIGN_OR_RETURN(auto names, ctx_.fs->GetChildren(SegmentDir(dir)));
  std::map<uint64_t, std::vector<Candidate>> by_db;  // database id -> candidates
  std::vector<std::string> quarantine;
  for (const auto& name : names) {
    uint64_t n;
    if (!ParseNumberedName(name, "", ".seg", &n) || named.count(n)) continue;
    auto seg = Segment::Open(ctx_.fs, JoinPath(SegmentDir(dir), name), n);
    if (!seg.ok() || !state.databases.count((*seg)->properties().db_id) ||
        !(*seg)->VerifyChecksums().ok()) {
      quarantine.push_back(name);  // damaged, or of a database that no longer exists
      continue;
    }
    by_db[(*seg)->properties().db_id].push_back({name, MetaFromSegment(**seg, n)});
  }
  if (!by_db.empty()) {
    EBB_ASSIGN_OR_RETURN(auto coverage, ScanJournalCoverage(state));
    ManifestEdit edit;
    for (auto& [db_id, candidates] : by_db) {
      const DatabaseMeta& db = state.databases.at(db_id);
      auto cov = coverage.find(db_id);
      // The journal continues from the flushed sequence: nothing is missing.
      const bool gap = cov == coverage.end() || cov->second.first > db.flushed_seq + 1;
      std::sort(candidates.begin(), candidates.end(),
                [](const Candidate& a, const Candidate& b) { return a.meta.largest_seq < b.meta.largest_seq; });
      SequenceNumber flushed = db.flushed_seq;
      for (const Candidate& c : candidates) {
        const bool fills_gap = gap && c.meta.largest_seq > flushed &&
                               (cov == coverage.end() || c.meta.largest_seq < cov->second.first);
        if (!fills_gap) {
          quarantine.push_back(c.name);
          continue;
        }
        EBB_LOG(kWarn,
                "database {}: segment file {} holds sequences {} to {}, which the manifest does not name and no "
                "journal file holds any more (a manifest edit was lost): adopted back into the manifest",
                db.name, JoinPath(SegmentDir(dir), c.name), c.meta.smallest_seq, c.meta.largest_seq);
        edit.AddSegment(c.meta);
        flushed = c.meta.largest_seq;
        recovery_.segments_adopted++;
      }
      if (flushed != db.flushed_seq) edit.SetFlushed(db_id, db.log_number, flushed);
    }
    if (!edit.empty()) EBB_RETURN_IF_ERROR(manifest_->Apply(edit).WithContext("adopting segment files"));
  }
  for (const auto& name : quarantine) EBB_RETURN_IF_ERROR(Quarantine(name));
  return Status::OK();
}

}  // namespace ebb
