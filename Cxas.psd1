@{
    RootModule             = 'Cxas.PowerShell.dll'
    ModuleVersion          = '0.1.0'
    GUID                   = '5f0c3a8e-2d4b-4c61-9a7e-3b1f6c2d8e41'
    Author                 = 'Cxas contributors'
    CompanyName            = 'Cxas'
    Copyright              = '(c) Cxas contributors. MIT licence.'
    Description            = 'Segments the anatomy in chest X-rays (159 classes) and measures it: PowerShell cmdlets over the Cxas.Core .NET library.'
    PowerShellVersion      = '5.1'
    CompatiblePSEditions   = @('Desktop', 'Core')
    DotNetFrameworkVersion = '4.7.2'
    # Loaded before the type data, which names its converter. Cxas.Core and its dependencies live in lib/ (ModuleBootstrap).
    RequiredAssemblies     = @('Cxas.PowerShell.dll')
    FormatsToProcess       = @('Cxas.Format.ps1xml')
    TypesToProcess         = @('Cxas.Types.ps1xml')
    CmdletsToExport        = @(
        'Invoke-CxasSegmentation'
        'Export-CxasMask'
        'Find-CxasDicomInstance'
        'Test-CxasDicomNode'
        'Receive-CxasDicomInstance'
        'Import-CxasModel'
        'Install-CxasModel'
        'Uninstall-CxasModel'
        'Get-CxasModel'
        'Get-CxasFeature'
        'Export-CxasOverlay'
        'Export-CxasReport'
    )
    FunctionsToExport      = @()
    AliasesToExport        = @()
    VariablesToExport      = @()
    PrivateData            = @{
        PSData = @{
            Tags         = @('radiology', 'chest-xray', 'segmentation', 'onnx', 'dicom')
            ReleaseNotes = 'Segmentation of chest X-rays (PNG, JPEG, DICOM) with the embedded 9-class model or the installed 159-class reference model; CTR, SCD and shape features; masks, DICOM-SEG, overlays and HTML reports; planned, resumable outputs. CUDA: install the companion module of your platform, Cxas.Cuda.Windows or Cxas.Cuda.Linux, of the same version.'
            LicenseUri = 'https://opensource.org/licenses/MIT'
        }
    }
}
