//! Integrations Host: runs payment and messaging provider components for an ERP, each in
//! its own wasm sandbox, behind the HTTP API of `API.md`.
//!
//! Layers, each in its own folder: `domain` (rules, no I/O), `runtime` (the wasm sandbox),
//! `capabilities` (what a sandbox may call), `registry` (live modules), `store` (SQL),
//! `services` (the backbones' flows) and `api` (HTTP); `metrics` and `telemetry` tell the
//! operator what happens.

pub mod api;
pub mod capabilities;
pub mod check;
pub mod domain;
pub mod metrics;
pub mod registry;
pub mod runtime;
pub mod secrets;
pub mod server;
pub mod services;
pub mod settings;
pub mod store;
pub mod telemetry;
