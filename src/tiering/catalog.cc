#include "tiering/catalog.h"

#include <algorithm>
#include <map>
#include <set>

namespace ebb {

StoreCatalog BuildCatalog(const std::vector<LiveDatabase>& databases, const std::vector<LiveSegment>& segments,
                          const ArchiveOf& archive_of, const StoreCatalog* previous, uint64_t next_file_number,
                          uint64_t next_db_id, int64_t wall_micros) {
  std::map<std::string, std::vector<const LiveSegment*>> by_database;
  for (const auto& s : segments) by_database[s.meta.database].push_back(&s);
  std::map<uint64_t, const CatalogDatabase*> earlier;
  if (previous != nullptr) {
    for (const auto& db : previous->databases) earlier[db.id] = &db;
  }
  StoreCatalog out;
  out.wall_micros = wall_micros;
  out.next_file_number = next_file_number;
  out.next_db_id = next_db_id;
  for (const auto& db : databases) {
    CatalogDatabase entry;
    entry.id = db.id;
    entry.name = db.name;
    std::vector<const LiveSegment*> own = by_database[db.tier_name];
    std::sort(own.begin(), own.end(), [](const LiveSegment* a, const LiveSegment* b) {
      return a->meta.largest_seq < b->meta.largest_seq;
    });
    for (const LiveSegment* s : own) {
      std::optional<std::string> archive = archive_of(s->key());
      if (!archive) break;  // the prefix ends at the first segment without a copy
      CatalogSegment seg;
      seg.meta = s->meta;
      seg.checksum = s->checksum;
      seg.file_size = s->size_bytes;
      seg.entries = s->entries;
      seg.tombstones = s->tombstones;
      seg.key_bytes = s->key_bytes;
      seg.value_bytes = s->value_bytes;
      seg.dead_bytes = s->dead_bytes;
      seg.created_wall_micros = s->created_wall_micros;
      seg.archive = std::move(*archive);
      entry.sequence = s->meta.largest_seq;
      entry.segments.push_back(std::move(seg));
    }
    auto it = earlier.find(db.id);
    if (it != earlier.end() && it->second->sequence > entry.sequence) entry = *it->second;
    entry.name = db.name;
    out.databases.push_back(std::move(entry));
  }
  return out;
}

std::vector<std::string> CatalogArchives(const StoreCatalog& catalog) {
  std::set<std::string> names;
  for (const auto& db : catalog.databases) {
    for (const auto& seg : db.segments) names.insert(seg.archive);
  }
  return {names.begin(), names.end()};
}

}  // namespace ebb
