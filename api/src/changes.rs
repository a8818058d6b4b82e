//! `GET /containers/{id}/changes` (Docker's, and libpod's under `/libpod`): what the
//! container changed over its image, the library's `diff` (`Engine::changes`, the list
//! `berth diff C` prints), as Docker's `[{"Path", "Kind"}]` with Kind 0 changed, 1 added,
//! 2 deleted.

use axum::extract::{Path, State};
use axum::Json;
use berth_image_store::changes::ChangeKind;
use serde_json::{json, Value};

use crate::error::ApiResult;
use crate::state::{blocking, AppState};

/// Docker's number for a change's kind.
fn kind_number(kind: ChangeKind) -> u8 {
    match kind {
        ChangeKind::Changed => 0,
        ChangeKind::Added => 1,
        ChangeKind::Deleted => 2,
    }
}

/// `GET /containers/{id}/changes`.
pub async fn changes(State(st): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    blocking(&st, move |engine| {
        let c = engine.get(&id)?;
        let list: Vec<Value> = engine
            .changes(&c)?
            .into_iter()
            .map(|ch| json!({"Path": ch.path, "Kind": kind_number(ch.kind)}))
            .collect();
        Ok(Json(Value::Array(list)))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_dockers_numbers() {
        assert_eq!(kind_number(ChangeKind::Changed), 0);
        assert_eq!(kind_number(ChangeKind::Added), 1);
        assert_eq!(kind_number(ChangeKind::Deleted), 2);
    }
}
