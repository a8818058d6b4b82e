//! The router: every route served, on unversioned paths (`serve` takes the version prefix
//! off before), and Docker's 404 for the rest.

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;

use crate::error::ApiError;
use crate::state::AppState;
use crate::{attach, build, containers, image_archive, images, prune, search, system, system_df};

/// Every route served, on unversioned paths (the version prefix is taken off before).
pub fn router(shared: AppState) -> Router {
    Router::new()
        .route("/_ping", get(system::ping).head(system::ping))
        .route("/version", get(system::version))
        .route("/info", get(system::info))
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
        .route("/containers/{id}/kill", post(containers::kill))
        .route("/containers/{id}/wait", post(containers::wait))
        .route("/containers/{id}/logs", get(containers::logs))
        .route("/containers/{id}/attach", post(attach::attach))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "page not found") })
        .with_state(shared)
}
