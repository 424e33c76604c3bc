DROP TABLE candle_quarantine;
