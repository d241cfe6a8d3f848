//! The server's integration tests, one binary (one link step): each module is one family
//! (endpoints, scopes, transfers, the website, limits, hostile clients, the backends'
//! conformance, several processes, rclone). Most call the server's router in process
//! (`TestServer::in_process`: no port, no process, the same arguments and requests); those
//! where a socket or a process is the point (signals, TLS, slow or cut connections, logs,
//! memory, several processes, remote uploads from the server itself, rclone) start the built
//! `1fichier-server` on loopback. The website's tests browse with test-support's `Browser`,
//! which keeps cookies and reaches a server in process as it reaches one on a socket.

const BIN: &str = env!("CARGO_BIN_EXE_1fichier-server");

mod auth_matrix;
mod blob_conformance;
mod endpoints;
mod hostile;
mod limits_and_keys;
mod meta_conformance;
mod moving;
mod operations;
mod processes;
mod rclone;
mod s3;
mod scopes;
mod transfers;
mod website;
