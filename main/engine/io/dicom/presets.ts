// CT window presets (HU) offered by the viewer beside the file's own WindowCenter/Width.
// Values follow common radiology practice; width first because that is how radiologists say them ("400/40").

export interface WindowPreset {
  name: string;
  widthHu: number;
  centerHu: number;
}

export const CT_WINDOW_PRESETS: readonly WindowPreset[] = Object.freeze([
  { name: 'brain', widthHu: 80, centerHu: 40 },
  { name: 'soft tissue', widthHu: 400, centerHu: 40 },
  { name: 'lung', widthHu: 1500, centerHu: -600 },
  { name: 'bone', widthHu: 2500, centerHu: 480 },
  { name: 'liver', widthHu: 150, centerHu: 90 },
]);
