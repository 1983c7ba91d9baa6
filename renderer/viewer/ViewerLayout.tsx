// The stage: the header over medical images, then its views: one viewer (2D images, or a volume in the single layout), or for volumes in the MPR layout
// axial, coronal and sagittal side by side, one Viewer each (same component, `axis` prop), linked by the cursor.
import { useStore } from '../state/store';
import { Viewer } from './Viewer';
import { ImageHeader } from './ImageHeader';

/** The header (medical images) above the views. */
export function ViewerLayout() {
  return (
    <div className="stage-body">
      <ImageHeader />
      <div className="stage-views">
        <Views />
      </div>
    </div>
  );
}

function Views() {
  const layout = useStore((s) => s.layout);
  const depth = useStore((s) => s.image?.info.depth ?? 1);
  if (layout !== 'mpr' || depth < 2) return <Viewer />;
  return (
    <div className="viewer-grid" data-testid="mpr-layout">
      <div className="viewer-cell">
        <Viewer axis="axial" mpr />
      </div>
      <div className="viewer-cell">
        <Viewer axis="coronal" mpr />
      </div>
      <div className="viewer-cell">
        <Viewer axis="sagittal" mpr />
      </div>
    </div>
  );
}
