// The part of dcmjs (no bundled types) that the DICOM SEG writer and reader use: naturalized datasets in and out.
declare module 'dcmjs' {
  export type NaturalValue = string | number | ArrayBuffer | NaturalDataset[] | Array<string | number | ArrayBuffer> | null | undefined | object;
  export interface NaturalDataset {
    [keyword: string]: NaturalValue;
  }
  export interface DenaturalizedDataset {
    [tag: string]: { vr: string; Value?: unknown[] };
  }
  export class DicomDict {
    constructor(meta: DenaturalizedDataset);
    meta: DenaturalizedDataset;
    dict: DenaturalizedDataset;
    write(options?: { allowInvalidVRLength?: boolean; fragmentMultiframe?: boolean }): ArrayBuffer;
  }
  export const data: {
    DicomDict: typeof DicomDict;
    DicomMessage: { readFile(buffer: ArrayBuffer, options?: { ignoreErrors?: boolean; untilTag?: string }): DicomDict };
    DicomMetaDictionary: {
      naturalizeDataset(ds: DenaturalizedDataset): NaturalDataset;
      denaturalizeDataset(ds: NaturalDataset): DenaturalizedDataset;
      uid(): string;
    };
  };
  const dcmjs: { data: typeof data };
  export default dcmjs;
}
