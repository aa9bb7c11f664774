#include "server/server.h"

#include "base/config.h"
#include "base/status_macros.h"
#include "engine/admin.h"
#include "server/admin_http.h"
#include "server/resp_server.h"
#include "server/server_core.h"
#include "server/tls_context.h"

namespace ebb {

Result<std::unique_ptr<Server>> Server::Start(Store* store, ServerOptions options) {
  EBB_ASSIGN_OR_RETURN(Config * config, StoreConfig(store));
  EBB_ASSIGN_OR_RETURN(ServerSettings settings, ServerSettings::FromConfig(*config));
  if (!options.admin_ops) options.admin_ops = NewEngineAdminOps(store);
  Clock* clock = options.clock != nullptr ? options.clock : SystemClock();
  std::unique_ptr<Server> server(new Server());
  server->config_ = config;
  // CONFIG SET server.* is checked as a whole before anything is stored.
  server->validator_ = config->AddValidator("server", [config](const Config& candidate) -> Status {
    EBB_ASSIGN_OR_RETURN(ServerSettings next, ServerSettings::FromConfig(candidate));
    EBB_ASSIGN_OR_RETURN(ServerSettings now, ServerSettings::FromConfig(*config));
    // New TLS files must load before they are accepted (files set to the
    // value they had are reloaded after the change, keeping the old
    // context if that fails).
    if (next.tls_port != 0 &&
        (next.tls_cert_file != now.tls_cert_file || next.tls_key_file != now.tls_key_file ||
         next.tls_ca_cert_file != now.tls_ca_cert_file || next.tls_auth_clients != now.tls_auth_clients)) {
      EBB_RETURN_IF_ERROR(LoadTlsContext(next).status());
    }
    return Status::OK();
  });
  server->store_options_ = std::move(options.store_options);
  EBB_ASSIGN_OR_RETURN(server->core_, ServerCore::Create(store, settings, std::move(options.admin_ops), clock));
  server->core_->config_reload().SetFile(server->store_options_.config_file);
  Server* raw = server.get();
  server->core_->set_settings_listener([raw] {
    if (RespServer* resp = raw->resp_for_listener_.load()) resp->NotifySettingsChanged();
  });
  if (settings.tls_port != 0) {
    EBB_ASSIGN_OR_RETURN(auto tls, LoadTlsContext(settings));
    server->core_->set_tls_context(std::move(tls));
  }
  EBB_ASSIGN_OR_RETURN(server->resp_, RespServer::Start(server->core_.get()));
  server->resp_for_listener_.store(server->resp_.get());
  if (settings.admin_port != 0) {
    EBB_ASSIGN_OR_RETURN(server->admin_, AdminHttp::Start(server->core_.get()));
  }
  server->core_->set_bound_ports(server->resp_->port(), server->admin_ ? server->admin_->port() : 0,
                                 server->resp_->tls_port());
  return server;
}

Server::~Server() { Stop(); }

int Server::port() const { return resp_->port(); }
int Server::admin_port() const { return admin_ ? admin_->port() : 0; }
int Server::tls_port() const { return resp_->tls_port(); }

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
