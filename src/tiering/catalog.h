// The store catalog a snapshot carries (seed 003: "the log describes the
// snapshot"): built from the live databases and segments when a snapshot is
// taken, so that the bucket alone is a consistent store (docs/archive_format.md,
// "Catalog"; restore is in the engine, src/engine/restore.h).
//
// Per database the catalog holds a prefix of its writes: its segments, oldest
// first (by sequence), for as long as each one has an archived copy (in the
// index, or in the snapshot's own archive); the database's sequence is the
// last of them. Segments are sequence ranges that follow each other (flushes
// in order, compactions of a newest run), so such a prefix is the database
// as it was at that sequence. When compaction rewrote archived segments into
// one not archived yet, the prefix would step back; the database's entry
// from the previous catalog is kept instead, so a newer snapshot never
// restores a database older than an earlier one did. Dropped databases are
// absent.

#ifndef EBB_TIERING_CATALOG_H_
#define EBB_TIERING_CATALOG_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tiering/archive.h"

namespace ebb {

// One live segment as the engine sees it.
struct LiveSegment {
  TieredSegmentMeta meta;         // meta.database is the tier name (name#id)
  uint64_t db_id = 0;
  uint64_t checksum = 0;          // XXH3-64 of the file; 0 if not known
  std::string path;               // local file (meaningful when `local`)
  uint64_t size_bytes = 0;
  uint64_t entries = 0;
  uint64_t tombstones = 0;
  uint64_t key_bytes = 0;
  uint64_t value_bytes = 0;
  uint64_t dead_bytes = 0;        // estimate of shadowed bytes
  int64_t created_wall_micros = 0;  // when the segment file was written
  int64_t last_access_micros = 0;   // for coldest-first eviction, hottest-first recall
  bool local = true;              // false once evicted
  SegmentKey key() const { return SegmentKey{meta.database, meta.segment_id, checksum}; }
};

// One live database.
struct LiveDatabase {
  uint64_t id = 0;
  std::string name;
  std::string tier_name;  // name#id, what segments name as their database
};

// Where the archived copy of a segment is; nullopt if it has none.
using ArchiveOf = std::function<std::optional<std::string>(const SegmentKey& key)>;

// The catalog of a snapshot (see above). `previous` is the newest catalog
// the bucket already holds, if any.
StoreCatalog BuildCatalog(const std::vector<LiveDatabase>& databases, const std::vector<LiveSegment>& segments,
                          const ArchiveOf& archive_of, const StoreCatalog* previous, uint64_t next_file_number,
                          uint64_t next_db_id, int64_t wall_micros);

// Every archive a catalog needs.
std::vector<std::string> CatalogArchives(const StoreCatalog& catalog);

}  // namespace ebb

#endif  // EBB_TIERING_CATALOG_H_
