//! Integration tests: the real `decoyd` binary on loopback, driven by the clients attackers
//! and operators use (curl, OpenSSH's ssh with sshpass, paramiko, hydra, nmap, ssh-audit,
//! raw sockets, the decoyd CLI).

mod admin;
mod config;
mod durability;
mod harness;
mod hostile;
mod http;
mod identities;
mod lures;
mod okta;
mod realism;
mod signals;
mod ssh;
