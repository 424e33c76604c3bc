DROP TABLE prediction_results;
