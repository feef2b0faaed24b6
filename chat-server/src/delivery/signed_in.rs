//! Open sockets by the token they were opened with, so that a revocation closes them with
//! `SIGNED_OUT` (4001) on whichever replica holds them.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio_util::sync::CancellationToken;

use super::hub::SessionId;
use crate::auth::revocation::Issued;
use crate::model::Revocation;

#[derive(Default)]
pub struct SignedIn {
    sockets: Mutex<HashMap<SessionId, (Issued, CancellationToken)>>,
}

impl SignedIn {
    /// `signed_out` is cancelled when a revocation covers `issued`.
    pub fn register(&self, id: SessionId, issued: Issued, signed_out: CancellationToken) {
        self.sockets
            .lock()
            .expect("signed-in lock")
            .insert(id, (issued, signed_out));
    }

    pub fn forget(&self, id: SessionId) {
        self.sockets.lock().expect("signed-in lock").remove(&id);
    }

    /// Signs out every socket `r` covers; returns how many.
    pub fn sign_out(&self, r: &Revocation) -> usize {
        let sockets = self.sockets.lock().expect("signed-in lock");
        let mut closed = 0;
        for (issued, signed_out) in sockets.values() {
            if issued.revoked_by(r) && !signed_out.is_cancelled() {
                signed_out.cancel();
                closed += 1;
            }
        }
        closed
    }
}
