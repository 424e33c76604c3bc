//! Bulk batches behind `/v1/batches`: the shared settings resolved and checked once
//! (`settings`), the input streamed to the object store (`upload`), the batch written
//! with its ingest job (`create`), and the batch as clients see it (`view`).

pub mod create;
pub mod settings;
pub mod upload;
pub mod view;
