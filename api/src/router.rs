//! The router: every route served, on unversioned paths (`serve` takes the version prefix
//! off before), and Docker's 404 for the rest.

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;

use crate::error::ApiError;
use crate::state::AppState;
use crate::{
    archive, attach, build, containers, events, exec, image_archive, images, networks,
    pause_rename, prune, restart_export, search, system, system_df, top_stats, tty, volumes,
};

/// Every route served, on unversioned paths (the version prefix is taken off before).
pub fn router(shared: AppState) -> Router {
    Router::new()
        .route("/_ping", get(system::ping).head(system::ping))
        .route("/version", get(system::version))
        .route("/info", get(system::info))
        .route("/events", get(events::events))
        .route("/system/df", get(system_df::df))
        .route("/build", post(build::build))
        .route("/images/json", get(images::list))
        .route("/images/create", post(images::create))
        .route("/images/prune", post(prune::images))
        .route("/images/get", get(image_archive::save_many))
        .route("/images/load", post(image_archive::load))
        .route("/images/search", get(search::search))
        .route(
            "/images/{*name}",
            get(images::get_route)
                .post(images::post_route)
                .delete(images::remove),
        )
        .route("/containers/json", get(containers::list))
        .route("/containers/create", post(containers::create))
        .route("/containers/prune", post(prune::containers))
        .route(
            "/containers/{id}",
            axum::routing::delete(containers::remove),
        )
        .route("/containers/{id}/json", get(containers::inspect))
        .route("/containers/{id}/start", post(containers::start))
        .route("/containers/{id}/stop", post(containers::stop))
        .route("/containers/{id}/restart", post(restart_export::restart))
        .route("/containers/{id}/export", get(restart_export::export))
        .route("/containers/{id}/changes", get(crate::changes::changes))
        .route("/containers/{id}/top", get(top_stats::top))
        .route("/containers/{id}/stats", get(top_stats::stats))
        .route(
            "/containers/{id}/archive",
            get(archive::get).head(archive::head).put(archive::put),
        )
        .route("/containers/{id}/kill", post(containers::kill))
        .route("/containers/{id}/wait", post(containers::wait))
        .route("/containers/{id}/logs", get(containers::logs))
        .route("/containers/{id}/attach", post(attach::attach))
        .route("/containers/{id}/resize", post(tty::resize))
        .route("/containers/{id}/exec", post(exec::create))
        .route("/exec/{id}/start", post(exec::start))
        .route("/exec/{id}/json", get(exec::inspect))
        .route("/exec/{id}/resize", post(exec::resize))
        .route("/networks", get(networks::list))
        .route("/networks/create", post(networks::create))
        .route("/networks/prune", post(networks::prune))
        .route(
            "/networks/{id}",
            get(networks::inspect).delete(networks::remove),
        )
        .route("/networks/{id}/connect", post(networks::connect))
        .route("/networks/{id}/disconnect", post(networks::disconnect))
        .route("/volumes", get(volumes::list))
        .route("/volumes/create", post(volumes::create))
        .route("/volumes/prune", post(volumes::prune))
        .route(
            "/volumes/{name}",
            get(volumes::inspect).delete(volumes::remove),
        )
        .route("/containers/{id}/pause", post(pause_rename::pause))
        .route("/containers/{id}/unpause", post(pause_rename::unpause))
        .route("/containers/{id}/rename", post(pause_rename::rename))
        .nest("/libpod", crate::libpod::router())
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "page not found") })
        .with_state(shared)
}
