DROP TRIGGER assets_keep_candles ON assets;
DROP FUNCTION assets_keep_candles();
DROP TRIGGER candles_assets_exist_on_update ON candles;
DROP TRIGGER candles_assets_exist_on_insert ON candles;
DROP FUNCTION candles_assets_exist();
ALTER TABLE candles ADD CONSTRAINT candles_asset_id_fkey FOREIGN KEY (asset_id) REFERENCES assets (id);
