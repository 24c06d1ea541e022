"""Every training picture in one import. Each ``plot_*`` saves a PNG or SVG and returns its path;
each ``*_figure`` returns the matplotlib Figure instead (to show in a notebook or inspect).

==========================  ===============================================  ==================
picture                     function                                         reads
==========================  ===============================================  ==================
the assignment's panel      plot_panel / panel_figure                        records
the panel as an animation   animate_panels (GIF)                             records
loss + accuracy, lr         plot_curves / curves_figure                      history
gradient flow, step size    plot_gradient_flow / gradient_flow_figure        records
dead and saturated units    plot_unit_health / unit_health_figure            records
output/weight histograms    plot_histograms / histograms_figure              records
t-SNE of a hidden layer     plot_tsne / tsne_figure                          model + data
confusion matrix            plot_confusion / confusion_figure                labels + predictions
==========================  ===============================================  ==================

Where each lives: :mod:`viz.plot_panel`, :mod:`viz.plot_training`, :mod:`viz.plot_eval`;
the shared look is in :mod:`viz.plot_style`.
"""
from .plot_eval import confusion_figure, plot_confusion, plot_tsne, tsne_figure
from .plot_panel import animate_panels, panel_figure, plot_panel
from .plot_style import save_figure
from .plot_training import (curves_figure, gradient_flow_figure, histograms_figure,
                            plot_curves, plot_gradient_flow, plot_histograms, plot_unit_health,
                            unit_health_figure)

__all__ = ["plot_panel", "panel_figure", "animate_panels", "plot_curves", "curves_figure",
           "plot_gradient_flow", "gradient_flow_figure", "plot_unit_health",
           "unit_health_figure", "plot_histograms", "histograms_figure", "plot_tsne",
           "tsne_figure", "plot_confusion", "confusion_figure", "save_figure"]
