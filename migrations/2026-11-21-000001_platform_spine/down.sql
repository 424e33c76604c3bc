DROP TABLE artifacts;
DROP TABLE predictions;
DROP TABLE jobs;
DROP TABLE batches;
DROP TABLE candles;
DROP TABLE assets;
