//! Tests across modules: whole renders, safety, and the real `nginx -t`.

pub mod fixtures;
mod nginx_check;
mod render_output;
mod safety;
