// Shapes of the /v1 answers the pages read (see /openapi.json for every field).

export interface Asset {
  id: number;
  symbol: string;
  name: string;
  class: 'stock' | 'crypto' | 'fx' | 'index';
  exchange: string | null;
  active: boolean;
  category: string | null;
  market_cap_rank: number | null;
}

export interface Group {
  slug: string;
  name: string;
  description: string;
  members: number;
}

export interface Bar {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

export interface ForecastRow {
  ts: string;
  open: number;
  high: number;
  low: number;
  close: number;
  p10: number;
  p50: number;
  p90: number;
}

export interface Prediction {
  id: string;
  symbol: string | null;
  model: string;
  interval: string;
  horizon: number;
  last_ts: string;
  last_close: number;
  prob_up: number;
  direction: string;
  expected_return: number | null;
  volatility: number | null;
  created_at: string;
  expires_at: string;
  forecast: ForecastRow[];
}

export interface Job {
  id: string;
  kind: string;
  status: 'queued' | 'running' | 'retrying' | 'succeeded' | 'failed' | 'cancelled';
  progress: number;
  error: string | null;
  created_at: string;
  finished_at: string | null;
  links: { self: string; result: string | null };
}

export const TERMINAL = ['succeeded', 'failed', 'cancelled'];
