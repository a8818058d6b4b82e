//! [`ApiError`]: an HTTP status and Docker's error body, `{"message": "…"}`. Library errors
//! map to Docker's codes by kind (404 no such object, 409 conflict, 400 bad parameter, 500),
//! never by their words.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_image_store::StoreError;
use berth_network::NetworkError;
use berth_run::RunError;

/// An error as a Docker client reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

pub type ApiResult<T> = std::result::Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    /// 400: a parameter or body the client got wrong.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404 with Docker's words for a container.
    pub fn no_such_container(name: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, format!("No such container: {name}"))
    }

    /// 404 with Docker's words for an image.
    pub fn no_such_image(name: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, format!("No such image: {name}"))
    }

    /// 500: the server failed.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// 501: a request berth understands but does not serve yet.
    pub fn not_implemented(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_IMPLEMENTED, message)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "message": self.message });
        (self.status, Json(body)).into_response()
    }
}

impl From<RunError> for ApiError {
    fn from(e: RunError) -> ApiError {
        let message = e.to_string().replace('\n', " ");
        match &e {
            RunError::NoSuchContainer(name) => ApiError::no_such_container(name),
            RunError::NoSuchImage { image, .. } => ApiError::no_such_image(image),
            RunError::NoSuchVolume(_) | RunError::NoSuchPod(_) => {
                ApiError::new(StatusCode::NOT_FOUND, message)
            }
            RunError::NameInUse { .. }
            | RunError::PodNameInUse(_)
            | RunError::HasDependents { .. }
            | RunError::InfraContainer { .. }
            | RunError::FailedPrecondition(_)
            | RunError::StateImproper(_) => ApiError::new(StatusCode::CONFLICT, message),
            RunError::Invalid(_) => ApiError::bad_request(message),
            RunError::Network(n) => ApiError::new(network_status(n), message),
            RunError::Store(s) => ApiError::new(store_status(s), message),
            _ => ApiError::internal(message),
        }
    }
}

/// A store error's status: not found, a conflict (in use, already there, a precondition) or
/// the server's failure.
fn store_status(e: &StoreError) -> StatusCode {
    match e {
        StoreError::NotFound(_) => StatusCode::NOT_FOUND,
        StoreError::Ambiguous(_) | StoreError::Invalid(_) => StatusCode::BAD_REQUEST,
        StoreError::AlreadyExists(_) | StoreError::FailedPrecondition(_) => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A network error's status: 404 no such network, 409 a name taken, 403 a network in use or
/// one that cannot be removed (Docker's words for both), 400 bad input, else 500.
fn network_status(e: &NetworkError) -> StatusCode {
    match e {
        NetworkError::NotFound(_) => StatusCode::NOT_FOUND,
        NetworkError::Exists(_) => StatusCode::CONFLICT,
        NetworkError::InUse(_) | NetworkError::Refused(_) => StatusCode::FORBIDDEN,
        NetworkError::Invalid(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<NetworkError> for ApiError {
    fn from(e: NetworkError) -> ApiError {
        ApiError::new(network_status(&e), e.to_string().replace('\n', " "))
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        ApiError::new(store_status(&e), e.to_string().replace('\n', " "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_errors_map_to_docker_statuses() {
        let e = ApiError::from(RunError::NoSuchContainer("nosuch".into()));
        assert_eq!(e.status, StatusCode::NOT_FOUND);
        assert_eq!(e.message, "No such container: nosuch");
        let e = ApiError::from(RunError::NameInUse {
            name: "web".into(),
            id: "abc".into(),
        });
        assert_eq!(e.status, StatusCode::CONFLICT);
        assert!(e.message.contains("web"), "{}", e.message);
        let e = ApiError::from(RunError::Invalid("bad".into()));
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
    }
}
