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

Result<std::shared_ptr<Database>> DatabaseRegistry::Find(std::string_view name) {
  {
    MutexLock lock(&mu_);
    auto it = databases_.find(name);
    if (it != databases_.end()) return it->second;
  }
  auto db = store_->OpenDatabase(name, /*create_if_missing=*/false);
  if (db.status().IsNotFound()) return std::shared_ptr<Database>();
  if (!db.ok()) return db.status();
  MutexLock lock(&mu_);
  auto [it, inserted] = databases_.emplace(std::string(name), *db);
  return it->second;
}

Result<std::shared_ptr<Database>> DatabaseRegistry::GetOrCreate(std::string_view name) {
  {
    MutexLock lock(&mu_);
    auto it = databases_.find(name);
    if (it != databases_.end()) return it->second;
  }
  auto db = store_->OpenDatabase(name, /*create_if_missing=*/true);
  if (!db.ok()) return db.status();
  MutexLock lock(&mu_);
  auto [it, inserted] = databases_.emplace(std::string(name), *db);
  return it->second;
}

void DatabaseRegistry::Forget(std::string_view name, const Database* handle) {
  MutexLock lock(&mu_);
  auto it = databases_.find(name);
  if (it != databases_.end() && it->second.get() == handle) databases_.erase(it);
}

Status DatabaseRegistry::Flush(std::string_view name) {
  // Held through the drop so no command picks up the old handle meanwhile.
  MutexLock lock(&mu_);
  databases_.erase(std::string(name));
  Status s = store_->DropDatabase(name);
  if (s.IsNotFound()) return Status::OK();
  return s;
}

}  // namespace ebb
