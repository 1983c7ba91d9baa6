// Colour tables that medical viewers read beside a label volume: an ITK-SNAP label description file (*.label.txt,
// "IDX R G B A VIS MSH "LABEL"") and a 3D Slicer colour table (*.ctbl, "index name R G B A"). NIfTI itself carries
// no palette, so these sidecars are how a change map's from -> to codes get their names and colours in those viewers.

export interface LabelEntry {
  value: number;
  name: string;
  rgb: [number, number, number];
  /** 0 (transparent) .. 1 (opaque). */
  alpha: number;
}

const byte = (v: number): number => Math.max(0, Math.min(255, Math.round(v)));

/** ITK-SNAP label description file; label text is quoted, so any name fits (quotes become apostrophes). */
export function itkSnapLabels(entries: LabelEntry[]): string {
  const header = [
    '################################################',
    '# ITK-SnAP Label Description File',
    '# File format: ',
    '# IDX   -R-  -G-  -B-  -A--  VIS MSH  LABEL',
    '# Fields: ',
    '#    IDX:   Zero-based index ',
    '#    -R-:   Red color component (0..255)',
    '#    -G-:   Green color component (0..255)',
    '#    -B-:   Blue color component (0..255)',
    '#    -A-:   Label transparency (0.00 .. 1.00)',
    '#    VIS:   Label visibility (0 or 1)',
    '#    MSH:   Label mesh visibility (0 or 1)',
    '#  LABEL:   Label description ',
    '################################################',
  ];
  const rows = [...entries].sort((a, b) => a.value - b.value).map((e) => {
    const [r, g, b] = e.rgb.map(byte) as [number, number, number];
    const visible = e.alpha > 0 ? 1 : 0;
    return `${String(e.value).padStart(5)} ${String(r).padStart(5)} ${String(g).padStart(4)} ${String(b).padStart(4)} ${e.alpha.toFixed(2).padStart(8)} ${visible}  ${visible}    "${e.name.replace(/"/g, "'")}"`;
  });
  return [...header, ...rows].join('\n') + '\n';
}

/** 3D Slicer colour table: names are single tokens there, so spaces become underscores. */
export function slicerColorTable(entries: LabelEntry[], title: string): string {
  const sorted = [...entries].sort((a, b) => a.value - b.value);
  const rows = sorted.map((e) => {
    const [r, g, b] = e.rgb.map(byte) as [number, number, number];
    return `${e.value} ${e.name.trim().replace(/\s+/g, '_') || `label_${e.value}`} ${r} ${g} ${b} ${byte(e.alpha * 255)}`;
  });
  return [`# Color table file ${title}`, `# ${sorted.length} values`, ...rows].join('\n') + '\n';
}
