#include "server/server.h"

#include "base/config.h"
#include "base/status_macros.h"
#include "engine/admin.h"
#include "server/admin_http.h"
#include "server/resp_server.h"
#include "server/server_core.h"

namespace ebb {

Result<std::unique_ptr<Server>> Server::Start(Store* store, ServerOptions options) {
  EBB_ASSIGN_OR_RETURN(Config * config, StoreConfig(store));
  EBB_ASSIGN_OR_RETURN(ServerSettings settings, ServerSettings::FromConfig(*config));
  if (!options.admin_ops) options.admin_ops = NewEngineAdminOps(store);
  Clock* clock = options.clock != nullptr ? options.clock : SystemClock();
  std::unique_ptr<Server> server(new Server());
  server->config_ = config;
  // CONFIG SET server.* is checked as a whole before anything is stored.
  server->validator_ = config->AddValidator("server", [](const Config& candidate) {
    return ServerSettings::FromConfig(candidate).status();
  });
  EBB_ASSIGN_OR_RETURN(server->core_, ServerCore::Create(store, settings, std::move(options.admin_ops), clock));
  Server* raw = server.get();
  server->core_->set_settings_listener([raw] {
    if (RespServer* resp = raw->resp_for_listener_.load()) resp->NotifySettingsChanged();
  });
  EBB_ASSIGN_OR_RETURN(server->resp_, RespServer::Start(server->core_.get()));
  server->resp_for_listener_.store(server->resp_.get());
  if (settings.admin_port != 0) {
    EBB_ASSIGN_OR_RETURN(server->admin_, AdminHttp::Start(server->core_.get()));
  }
  server->core_->set_bound_ports(server->resp_->port(), server->admin_ ? server->admin_->port() : 0);
  return server;
}

Server::~Server() { Stop(); }

int Server::port() const { return resp_->port(); }
int Server::admin_port() const { return admin_ ? admin_->port() : 0; }

void Server::Stop() {
  if (stopped_) return;
  stopped_ = true;
  resp_for_listener_.store(nullptr);
  if (validator_ != 0) config_->RemoveValidator(validator_);
  if (resp_) resp_->Stop();
  if (admin_) admin_->Stop();
  core_.reset();
}

}  // namespace ebb
