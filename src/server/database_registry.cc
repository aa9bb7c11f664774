#include "server/database_registry.h"

#include <cctype>

namespace ebb {

bool IsValidDatabaseName(std::string_view name) {
  if (name.empty() || name.size() > 128 || name[0] == '.') return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') return false;
  }
  return true;
}

Result<std::shared_ptr<Database>> DatabaseRegistry::Lookup(std::string_view name, bool create) {
  uint64_t epoch = 0;
  {
    MutexLock lock(&mu_);
    auto it = databases_.find(name);
    if (it != databases_.end()) {
      uses_.splice(uses_.begin(), uses_, it->second.use);
      return it->second.db;
    }
    epoch = flush_epoch_;
  }
  auto db = store_->OpenDatabase(name, create);
  if (!create && db.status().IsNotFound()) return std::shared_ptr<Database>();
  if (!db.ok()) return db.status();
  MutexLock lock(&mu_);
  if (flush_epoch_ != epoch) return *db;  // raced with FLUSHDB: use once, do not keep
  auto it = databases_.find(name);
  if (it != databases_.end()) return it->second.db;  // another lookup cached it meanwhile
  uses_.emplace_front(name);
  databases_.emplace(std::string(name), Entry{*db, uses_.begin()});
  // Full: drop the handle of the database used least recently.
  while (databases_.size() > max_cached_) EraseLocked(databases_.find(uses_.back()));
  return *db;
}

void DatabaseRegistry::EraseLocked(Map::iterator it) {
  uses_.erase(it->second.use);
  databases_.erase(it);
}

Result<std::shared_ptr<Database>> DatabaseRegistry::Find(std::string_view name) { return Lookup(name, false); }

std::shared_ptr<Database> DatabaseRegistry::FindCached(std::string_view name) {
  MutexLock lock(&mu_);
  auto it = databases_.find(name);
  if (it == databases_.end()) return nullptr;
  uses_.splice(uses_.begin(), uses_, it->second.use);
  return it->second.db;
}

Result<std::shared_ptr<Database>> DatabaseRegistry::GetOrCreate(std::string_view name) { return Lookup(name, true); }

void DatabaseRegistry::Forget(std::string_view name, const Database* handle) {
  MutexLock lock(&mu_);
  auto it = databases_.find(name);
  if (it != databases_.end() && it->second.db.get() == handle) EraseLocked(it);
}

Status DatabaseRegistry::Flush(std::string_view name) {
  {
    MutexLock lock(&mu_);
    flush_epoch_++;
    auto it = databases_.find(name);
    if (it != databases_.end()) EraseLocked(it);
  }
  Status s = store_->DropDatabase(name);
  {
    // Lookups that started during the drop may hold the old handle: make
    // them not cache it.
    MutexLock lock(&mu_);
    flush_epoch_++;
    auto it = databases_.find(name);
    if (it != databases_.end()) EraseLocked(it);
  }
  if (s.IsNotFound()) return Status::OK();
  return s;
}

size_t DatabaseRegistry::cached() const {
  MutexLock lock(&mu_);
  return databases_.size();
}

}  // namespace ebb
