// The header over the views of a medical image: patient name and ID, study date and description, series
// description and modality, as every radiology viewer shows them. De-identify hides the patient's name, ID and
// dates (here, in the study browser and in exports). Long text is cut with an ellipsis and shown whole on hover.
import { useEffect } from 'react';
import { apply, useStore } from '../state/store';
import * as op from '../state/operations';
import { loadImageExtras } from './clinical';

export function ImageHeader() {
  const image = useStore((s) => s.image);
  const patient = useStore((s) => s.patient);
  const deidentify = useStore((s) => s.deidentify);
  const handle = image?.handle;
  useEffect(() => {
    if (handle) void loadImageExtras(handle);
  }, [handle]);
  if (!image || image.info.kind !== 'medical') return null;
  const p = patient && patient.handle === image.handle ? patient.value : {};
  const modality = p.modality ?? (typeof image.info.modality === 'string' ? image.info.modality : undefined);
  const described = p.seriesDescription ?? (typeof image.info.seriesDescription === 'string' ? image.info.seriesDescription : undefined) ?? image.name;
  // One volume of several at each position: which one, or the header would read the same for all of them.
  const vol = image.info.seriesVolume;
  const series = vol ? `${described} (volume ${vol.index} of ${vol.of})` : described;
  const field = (testId: string, label: string, value: string | undefined, strong = false) => (
    <span className={`image-header-field${testId === 'header-series' ? ' series' : ''}`} data-testid={testId} title={value ? `${label}: ${value}` : `${label}: not in the file`}>
      <span className="muted">{label}</span> {value ? strong ? <strong>{value}</strong> : value : <span className="muted">—</span>}
    </span>
  );
  return (
    <div className="image-header" data-testid="image-header" role="group" aria-label="Patient and study">
      {image.info.format !== 'dicom' ? (
        // NIfTI and other research formats carry no patient attributes: say so once instead of three dashes.
        <span className="image-header-field muted" data-testid="header-no-patient" title={`A ${image.info.format.toUpperCase()} file holds no patient name, ID or study date`}>
          No patient data in this {image.info.format.toUpperCase()} file
        </span>
      ) : deidentify ? (
        <span className="image-header-field" data-testid="header-deidentified" title="Patient name, ID and dates are hidden (De-identify is on)">
          <strong>De-identified</strong>
        </span>
      ) : (
        <>
          {field('header-patient', 'Patient', p.patientName, true)}
          {field('header-patient-id', 'ID', p.patientId)}
          {field('header-study-date', 'Study date', p.studyDate)}
        </>
      )}
      {field('header-series', 'Series', series)}
      <span className="image-header-field modality" data-testid="header-modality" title={modality ? `Modality: ${modality}` : 'Modality: not in the file'}>
        {modality ?? '—'}
      </span>
      <label className="image-header-toggle" title="Hide the patient's name, ID and dates on screen, in the study browser and in exports">
        <input type="checkbox" data-testid="deidentify-toggle" checked={deidentify} onChange={(e) => apply(op.deidentifySet(e.target.checked))} /> De-identify
      </label>
    </div>
  );
}
