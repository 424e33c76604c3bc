// A filled band between two price paths (the forecast's p10–p90), drawn under the
// series it is attached to: lightweight-charts has no band series, so this is a series
// primitive that paints the polygon on the pane's canvas.
import type {
  IChartApi,
  ISeriesApi,
  ISeriesPrimitive,
  IPrimitivePaneRenderer,
  IPrimitivePaneView,
  SeriesAttachedParameter,
  SeriesType,
  Time,
  UTCTimestamp,
} from 'lightweight-charts';

export interface BandPoint {
  time: UTCTimestamp;
  low: number;
  high: number;
}

export class Band implements ISeriesPrimitive<Time> {
  private points: BandPoint[] = [];
  private chart: IChartApi | null = null;
  private series: ISeriesApi<SeriesType> | null = null;
  private requestUpdate: (() => void) | null = null;
  private readonly view: IPrimitivePaneView;

  constructor(private color: string) {
    const renderer: IPrimitivePaneRenderer = {
      draw: () => {},
      drawBackground: (target) => {
        const chart = this.chart;
        const series = this.series;
        if (!chart || !series || this.points.length < 2) return;
        const scale = chart.timeScale();
        const upper: [number, number][] = [];
        const lower: [number, number][] = [];
        for (const p of this.points) {
          const x = scale.timeToCoordinate(p.time);
          const hi = series.priceToCoordinate(p.high);
          const lo = series.priceToCoordinate(p.low);
          if (x === null || hi === null || lo === null) continue;
          upper.push([x, hi]);
          lower.push([x, lo]);
        }
        if (upper.length < 2) return;
        target.useMediaCoordinateSpace(({ context }) => {
          context.beginPath();
          context.moveTo(upper[0][0], upper[0][1]);
          for (const [x, y] of upper.slice(1)) context.lineTo(x, y);
          for (const [x, y] of lower.reverse()) context.lineTo(x, y);
          context.closePath();
          context.fillStyle = this.color;
          context.fill();
        });
      },
    };
    this.view = { zOrder: () => 'bottom', renderer: () => renderer };
  }

  attached({ chart, series, requestUpdate }: SeriesAttachedParameter<Time>) {
    this.chart = chart as IChartApi;
    this.series = series as ISeriesApi<SeriesType>;
    this.requestUpdate = requestUpdate;
  }

  detached() {
    this.chart = null;
    this.series = null;
    this.requestUpdate = null;
  }

  paneViews() {
    return [this.view];
  }

  autoscaleInfo() {
    if (this.points.length === 0) return null;
    return {
      priceRange: {
        minValue: Math.min(...this.points.map((p) => p.low)),
        maxValue: Math.max(...this.points.map((p) => p.high)),
      },
    };
  }

  setPoints(points: BandPoint[], color?: string) {
    this.points = points;
    if (color) this.color = color;
    this.requestUpdate?.();
  }
}
