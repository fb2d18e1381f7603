//! Argo Rollouts canary replica arithmetic (being written).
